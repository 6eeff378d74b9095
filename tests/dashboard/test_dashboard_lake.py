"""``impactlens dashboard --lake``: the served file is read again when the lake changes, and the sidebar says
how a lake's new collections show up (not the warehouse file's "within 30 s"). Real components: a git
repository collected into a warehouse, exported as a lake, materialised into the served file; the app in AppTest.

Ada has 2 commits when the dashboard opens; a third is collected and exported into the lake; reading the lake
again (what the dashboard command's checker does every 30 s) moves a new file over the served one, and the
next run shows 3 commits and "Newer data arrived".
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from conftest import GitRepo
from helpers import impactlens
from impactlens import lake, warehouse
from impactlens.commands import lake as lake_cmd
from impactlens.dashboard import state

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ADA = "Ada Lovelace <ada@example.com>"


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.caption, *at.info, *at.markdown))


def commits(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Commits"]


def test_a_lake_served_is_read_again_when_it_changes_and_the_sidebar_says_so(tmp_path, monkeypatch):
    repo = GitRepo(tmp_path / "tool")
    for n, day in enumerate(("2025-06-02", "2025-06-09")):
        repo.write(f"f{n}.py", f"x = {n}\n")
        repo.commit(f"Change {n}", author=ADA, date=f"{day}T10:00:00+00:00")
    db, dest, served = tmp_path / "w.duckdb", tmp_path / "lake", tmp_path / "served" / "lake.duckdb"
    assert impactlens("collect", "git", str(repo.path), "--db", str(db)).returncode == 0
    lake.export(db, dest)
    served.parent.mkdir()
    seen = lake_cmd.refresh_file(dest, served, None, ())  # nothing served yet: read the lake
    assert seen == lake.snapshot(dest) and served.exists()

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(warehouse.DB_ENV, raising=False)
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(served), "--lake", str(dest)])
    assert state.lake_path() == dest
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["person"] = "ada@example.com"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert commits(at) == "2"
    assert (f"Lake `{dest}` (read into `{served}`) · data from 02 Jun 2025 to 09 Jun 2025. Collections published "
            "into the lake show up within a minute (the lake is checked every 30 s).") in texts(at)
    assert "within 30 s" not in texts(at)

    # Nothing committed into the lake: the served file stays the one the app has open.
    identity = state.file_identity(served)
    assert lake_cmd.refresh_file(dest, served, None, seen) == seen and state.file_identity(served) == identity
    repo.write("f2.py", "x = 2\n")
    repo.commit("Change 2", author=ADA, date="2025-06-16T10:00:00+00:00")
    assert impactlens("collect", "git", str(repo.path), "--db", str(db)).returncode == 0
    assert lake.export(db, dest).changed
    now = lake_cmd.refresh_file(dest, served, None, seen)
    assert now != seen and state.file_identity(served) != identity
    assert not served.with_name("lake.duckdb.next").exists()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert commits(at) == "3"
    assert "Newer data arrived" in texts(at)


def test_a_warehouse_file_served_keeps_its_note(tmp_path, monkeypatch):
    repo = GitRepo(tmp_path / "tool")
    repo.commit("One", author=ADA, date="2025-06-02T10:00:00+00:00")
    db = tmp_path / "w.duckdb"
    assert impactlens("collect", "git", str(repo.path), "--db", str(db)).returncode == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Warehouse `{db}` · data from 02 Jun 2025 to 02 Jun 2025. New collections show up within 30 s." in texts(at)
    assert "Lake `" not in texts(at)
