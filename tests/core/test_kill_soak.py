"""The kill soak at a small size (benchmarks/kill_soak.py): SIGKILLs of `collect git` and of `collect github`
(against the local GitHub) at moments drawn across an uninterrupted run, each resumed; no row lost, extra or
doubled, line counts equal git's, every file readable after every kill."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from github_server import TOKEN, Data, GitHubServer

spec = importlib.util.spec_from_file_location("kill_soak", Path(__file__).resolve().parents[2] / "benchmarks" / "kill_soak.py")
kill_soak = importlib.util.module_from_spec(spec)
sys.modules["kill_soak"] = kill_soak  # its dataclasses look their module up
spec.loader.exec_module(kill_soak)


def assert_clean(report: dict, kills: int) -> None:
    assert report["errors"] == [] and report["runs_that_failed"] == 0
    assert report["kills_mid_run"] == kills
    assert report["runs_that_left_a_file_unreadable"] == 0
    for figures in (report["uninterrupted"], report["after_kills"]):
        for table, row in figures.items():
            assert (row["lost"], row["extra"], row["doubled"], row["differ"]) == (0, 0, 0, 0), (table, row)
    assert (report["lost"], report["extra"], report["doubled"], report["differ"]) == (0, 0, 0, 0)


def test_git_truth_counts_a_rename_once_and_a_binary_file_without_lines(make_repo, con):
    from impactlens import config as config_mod
    from impactlens.collectors.git import collect_git

    repo = make_repo("r")
    repo.write("a.py", "".join(f"line {i}\n" for i in range(10)))
    repo.write("logo.png", b"\x89PNG\0\0\x01")
    first = repo.commit("add a and a logo")
    repo.git("mv", "a.py", "b.py")
    repo.write("b.py", "".join(f"line {i}\n" for i in range(10)) + "one more\n")
    second = repo.commit("rename a to b, one line more")
    truth = kill_soak.git_truth(repo.path)
    # by hand: 10 lines added in a.py, a binary logo; the rename is one row of b.py with 1 line added
    assert truth["commit_files"] == {
        (first, "a.py"): (10, 0), (first, "logo.png"): (None, None), (second, "b.py"): (1, 0),
    }
    # and the collector stores exactly these rows (git log --no-renames would give a.py -10 and b.py +11)
    collect_git(con, repo.path, config=config_mod.load(None))
    assert kill_soak.compare(truth, kill_soak.git_stored(con))["commit_files"] == {
        "truth": 3, "stored": 3, "lost": 0, "extra": 0, "doubled": 0, "differ": 0}


def test_git_kills_lose_and_double_nothing(tmp_path):
    repo = tmp_path / "history"
    kill_soak.build_history(repo, 100)
    db = tmp_path / "soak.duckdb"
    target = kill_soak.git_target(repo, db)
    # 100 commits; commit i touches 1 + i % 3 files: 34*1 + 33*2 + 33*3 = 199 file rows (i = 0..99)
    assert len(target.truth["commits"]) == 100 and len(target.truth["commit_files"]) == 199
    report = kill_soak.soak(target, db, kills=3, seed=7)
    assert_clean(report, 3)
    assert report["after_kills"]["commits"]["truth"] == 100 * report["rounds"]


def test_github_kills_lose_and_double_nothing(tmp_path):
    data = Data()
    kill_soak.build_org(data, repos=1, prs=10, issues=5, seed=3)
    with GitHubServer(data, token=TOKEN) as server:
        db = tmp_path / "soak.duckdb"
        target = kill_soak.github_target(server.api_url, TOKEN, data, db)
        assert len(target.truth["pull_requests"]) == 10 and len(target.truth["issues"]) == 5
        report = kill_soak.soak(target, db, kills=3, seed=5)
    assert not server.crashes, server.crashes
    assert_clean(report, 3)
