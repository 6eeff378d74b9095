"""The dashboard while a collection writes the same warehouse (issue 18 item 3): a real ``collect git`` in a
subprocess (the writer, on ``<db>.writing``) and the app in AppTest (the reader, on the published file).

The history, built here: Ada has 2 commits (2025-06-02 and 06-09) when the dashboard opens. Then 120 more
commits of hers (2025-06-20, a minute apart) are made and ``collect git`` runs again. The writer is paused
(SIGSTOP) once its copy exists, so the page is drawn while the write is under way, for certain: it shows the
last published data (2 commits) and says a collection is writing. After the writer finishes and publishes,
the next run shows 122 commits and "Newer data arrived".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import impactlens
from impactlens import warehouse

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ADA = "Ada Lovelace <ada@example.com>"


def commits(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Commits"]


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.caption, *at.info, *at.markdown, *at.warning, *at.error))


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
def test_the_page_answers_from_the_published_file_during_a_collection(tmp_path, monkeypatch):
    from conftest import GitRepo

    repo = GitRepo(tmp_path / "tool")
    for n, day in enumerate(("2025-06-02", "2025-06-09")):
        repo.write(f"f{n}.py", f"x = {n}\n")
        repo.commit(f"Change {n}", author=ADA, date=f"{day}T10:00:00+00:00")
    db = tmp_path / "w.duckdb"
    assert impactlens("collect", "git", str(repo.path), "--db", str(db)).returncode == 0

    monkeypatch.setenv(warehouse.DB_ENV, str(db))
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["person"] = "ada@example.com"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert commits(at) == "2"
    assert "Newer data arrived" not in texts(at) and "A collection is writing" not in texts(at)

    for n in range(120):
        repo.write(f"g{n}.py", f"y = {n}\n")
        repo.commit(f"More {n}", author=ADA, date=f"2025-06-20T{10 + n // 60:02d}:{n % 60:02d}:00+00:00")
    copy = warehouse.working_copy_path(db)
    writer = subprocess.Popen([sys.executable, "-m", "impactlens", "collect", "git", str(repo.path), "--db", str(db)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not copy.exists():
            assert writer.poll() is None, "the collection ended before its copy was seen"
            assert time.monotonic() < deadline, "no working copy appeared"
            time.sleep(0.002)
        os.kill(writer.pid, signal.SIGSTOP)  # the write is under way, and stays so while the page is drawn
        try:
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            assert commits(at) == "2"  # the last complete data
            assert "A collection is writing a new copy" in texts(at)
            assert "Newer data arrived" not in texts(at)
        finally:
            os.kill(writer.pid, signal.SIGCONT)
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()

    assert not copy.exists()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert commits(at) == "122"
    published = time.strftime("%H:%M", time.gmtime(os.stat(db).st_mtime))
    assert f"Newer data arrived (collected at {published} UTC)" in texts(at)
    assert "A collection is writing" not in texts(at)
    at.run()  # said once: the next run has nothing new to say
    assert "Newer data arrived" not in texts(at)
