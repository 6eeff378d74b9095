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
        import pandas  # noqa: F401  st.dataframe converts Polars frames through pandas' type checks

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
