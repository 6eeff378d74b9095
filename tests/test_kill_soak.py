"""The kill soak at a small size (benchmarks/kill_soak.py): three SIGKILLs of `collect git`, then a run
that completes; no commit or file row lost or doubled, numstat totals equal git's, the file always readable."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("kill_soak", Path(__file__).resolve().parents[1] / "benchmarks" / "kill_soak.py")
kill_soak = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kill_soak)


def test_three_kills_lose_and_double_nothing(tmp_path):
    repo = tmp_path / "history"
    kill_soak.build_history(repo, 400)
    want = kill_soak.truth(repo)
    # 400 commits; each touches 1 + i % 3 files: 134*1 + 133*2 + 133*3 = 799 file rows (i = 0..399)
    assert want["commits"] == 400 and want["file_rows"] == 799
    report = kill_soak.soak(repo, tmp_path / "soak.duckdb", kills=3, seed=7, max_delay=2.5)
    assert report["final_exit"] == 0, report["final_stderr"]
    assert report["unreadable_after_kill"] == 0
    assert (report["commits_lost"], report["commits_doubled"]) == (0, 0)
    assert (report["file_rows_lost"], report["file_rows_doubled"]) == (0, 0)
    assert report["numstat_equal"]
