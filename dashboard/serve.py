"""``python -m impactlens.dashboard.serve run APP [streamlit options] -- --db FILE``: ``streamlit run``, with
the dashboard made ready before the server answers.

A plain ``streamlit run`` imports the app's modules (Polars, Altair, pandas for the tables, the metrics and
evidence modules) and reads the warehouse only when the first visitor's page runs: seconds on the first load
(docs/performance.md "Dashboard in a browser"). Here both happen first, then Streamlit starts; the warehouse
lands in the same ``st.cache_resource`` entry the app reads (:func:`impactlens.dashboard.state.
current_warehouse`), so the first page finds it read. ``impactlens dashboard`` opens the browser once the
server answers, so the wait moves from the first page to the start (about the same in all). A warm-up that
fails (no file yet, a bad configuration) is silent: the page says why.
"""

from __future__ import annotations

import sys
from pathlib import Path


#: How often ``impactlens dashboard --lake`` looks for new Delta versions in its lake (then reads it again into
#: the file it serves, which the app reloads within its own 30 s; dashboard/ui.py says so).
LAKE_CHECK_SECONDS = 30


def app_path() -> Path:
    """The Streamlit script of the dashboard (``impactlens/dashboard/app.py`` as installed)."""
    return Path(__file__).resolve().parent / "app.py"


def streamlit_command(db_path: Path, *, port: int | None = None, address: str | None = None,
                      lake: str | None = None) -> list[str]:
    """The ``streamlit run`` command line serving the dashboard on ``db_path`` (passed after ``--``), through
    :mod:`impactlens.dashboard.serve` (the pages' modules and the warehouse read while the server starts).
    ``lake``: the lake ``db_path`` was materialised from (``--lake`` after ``--``: the sidebar names it).

    Streamlit always runs headless: otherwise, on a machine where it has never run, it stops at a prompt
    asking for an e-mail address. :func:`launch` opens the browser tab itself. Streamlit's collection of
    garbage after every script run (0.2-0.3 s with the warehouse in memory, holding up the next click) and its
    watching of the source files (polling them: the dashboard is not edited while it serves) are off.
    """
    command = [sys.executable, "-m", "impactlens.dashboard.serve", "run", str(app_path()),
               "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
               "--runner.postScriptGC", "false", "--server.fileWatcherType", "none"]
    if port is not None:
        command += ["--server.port", str(port)]
    if address is not None:
        command += ["--server.address", address]
    return [*command, "--", "--db", str(db_path), *(["--lake", str(lake)] if lake is not None else [])]


def warm() -> None:
    """Import what the pages use and read the warehouse named by ``--db``/``--config`` in ``sys.argv``."""
    import logging

    # Outside a page run Streamlit's caches log "missing ScriptRunContext" (harmless here, but users read a
    # warning at start-up): quiet that one logger while warming, then give it back its level.
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        import altair  # noqa: F401  the charts
        import pandas  # noqa: F401  the warm-up chart below (and Streamlit's data conversion imports it)

        from impactlens.dashboard import access, charts, figures, state, ui  # noqa: F401
        from impactlens.evidence import packet  # noqa: F401

        from impactlens.metrics.pr import pr_facts

        wh = state.current_warehouse()
        pr_facts(wh.frames)  # the per-PR facts every page and each person's packet derive from (about 1 s)
        # Altair compiles its shorthand patterns and builds its schema validator on the first chart (0.2 s).
        altair.Chart(pandas.DataFrame({"x": [1]})).mark_point().encode(x="x:Q").to_dict()
        # Streamlit's first element checks, once per process, whether it runs in a REPL: inspect.stack() over
        # every loaded module (0.4-0.8 s). Under `streamlit run` the answer is no; say so up front.
        from streamlit import delta_generator

        delta_generator._use_warning_has_been_displayed = True
    except Exception:  # the first page run reports it
        pass
    finally:
        quiet.setLevel(level)


def main() -> int:
    """:func:`warm`, then Streamlit's command line on ``sys.argv``."""
    from streamlit.web import cli

    warm()
    return cli.main(prog_name="streamlit")


if __name__ == "__main__":
    sys.exit(main())
