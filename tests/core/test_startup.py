"""Start-up: the command line imports heavy libraries only in the commands that use them.

Every command pays for what `import impactlens.cli` loads: polars, pyarrow, pandas, Streamlit, Altair,
PyGithub and PyDriller each cost 0.1-0.7 s to import, duckdb 0.2 s (docs/performance.md, "Start-up").
Each check runs in a new Python process, as a user's command does, and lists the heavy top-level
packages that ended up in ``sys.modules``.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

from helpers import impactlens
from impactlens import warehouse

# Libraries no command needs before it has real work to do.
HEAVY = {"polars", "pyarrow", "pandas", "numpy", "altair", "streamlit", "github", "pydriller", "git", "mcp"}


def loaded_after(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the heavy-ish top-level packages it imported."""
    watched = sorted(HEAVY | {"duckdb", "rich", "pydantic", "filelock", "yaml"})
    script = (
        f"{code}\n"
        "import json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({watched!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def run_cli(*args: str) -> str:
    """Python that runs the command line with ``args`` in-process and swallows its exit."""
    return (
        "import sys, impactlens.cli as cli\n"
        f"sys.argv = ['impactlens', *{list(args)!r}]\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
    )


def test_importing_the_command_line_loads_no_heavy_library():
    # Not even duckdb: `impactlens --help` and `config show` never open a warehouse.
    assert loaded_after("import impactlens.cli") & (HEAVY | {"duckdb", "pydantic", "rich"}) == set()


def test_help_loads_no_heavy_library():
    loaded = loaded_after(run_cli("--help"))
    assert loaded & (HEAVY | {"duckdb"}) == set()
    assert "rich" in loaded  # Typer's formatted help: the check above did run the command


def test_an_up_to_date_quiet_collection_loads_only_duckdb(make_repo, db_path):
    repo = make_repo("tool")
    repo.write("main.py", "print('hi')\n")
    repo.commit("First")
    first = impactlens("collect", "git", str(repo.path), "--db", str(db_path), "--quiet")
    assert first.returncode == 0, first.stderr

    loaded = loaded_after(run_cli("collect", "git", str(repo.path), "--db", str(db_path), "--quiet"))
    # pyarrow is imported to write rows, rich to draw a progress bar: an up-to-date cron run needs neither.
    assert loaded & (HEAVY | {"rich"}) == set()
    assert "duckdb" in loaded  # the run did open the warehouse
    again = impactlens("collect", "git", str(repo.path), "--db", str(db_path))
    assert "Already up to date." in again.stdout


def test_a_collection_that_stores_commits_loads_no_frame_library(make_repo, db_path):
    # Rows travel to DuckDB as list parameters (warehouse.upsert / warehouse.rows): the first write of a
    # collection, the people derivation and the bot flags import neither Polars, pyarrow, numpy nor pandas.
    repo = make_repo("tool")
    repo.write("main.py", "print('hi')\n")
    repo.commit("First", author="Ada Lovelace <ada@example.com>")
    repo.write("main.py", "print('hello')\n")
    repo.commit("Second (#2)", author="Ada Lovelace <ada@work.example>")

    loaded = loaded_after(run_cli("collect", "git", str(repo.path), "--db", str(db_path), "--quiet"))
    assert loaded & HEAVY == set()
    with warehouse.read_only(db_path) as con:  # the rows did arrive, and the derivation ran
        assert con.sql("SELECT count(*), sum(files_changed), count(pr_number) FROM commits").fetchall() == [(2, 2, 1)]
        assert con.sql("SELECT count(*) FROM identities WHERE kind = 'email'").fetchall() == [(2,)]
        assert not warehouse.derive_pending(con)


def test_command_annotations_are_objects_not_strings():
    """Typer evaluates string annotations (``from __future__ import annotations``) with eval() for
    every command at every start-up: about 50 ms for this command line."""
    from impactlens.cli import app

    def callbacks(group):
        for info in group.registered_commands:
            yield info.callback
        for sub in group.registered_groups:
            yield from callbacks(sub.typer_instance)

    found = list(callbacks(app))
    assert len(found) > 20  # every area's commands were registered
    stringly = [
        f"{f.__module__}.{f.__name__}" for f in found
        if any(isinstance(a, str) for a in inspect.get_annotations(f).values())
    ]
    assert stringly == []


@pytest.mark.parametrize("args", [("--help",), ("collect", "git", "--help"), ("config", "show")])
def test_light_commands_still_work(args, tmp_path):
    done = impactlens(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
