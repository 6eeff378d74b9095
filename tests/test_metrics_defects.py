"""Defects: bug-fix commits, reverts and SZZ on a real git repository collected by the git collector.

History of app.py (one line per commit):
  c1 ada  "Add app"                       a, b, c
  c2 bob  "Speed up b"                    b -> B        (the line the fix later changes)
  c3 ada  "fix: crash when B is empty"    B -> b2       (a fix by its message)
  c4 bob  "Handle empty input (#7)"       adds d        (issue 7 is labelled 'type: bug')
  c5 ada  'Revert "Handle empty input (#7)"' with "This reverts commit <c4>."
"""

from __future__ import annotations

import pytest

from impactlens.collectors.git import collect_git
from impactlens.errors import CollectionError
from impactlens.metrics import classify_commits, defect_rate, szz
from test_metrics_builders import add_person, frames_of, insert, ts

ADA = "Ada <ada@example.com>"
BOB = "Bob <bob@example.com>"


@pytest.fixture
def history(con, make_repo):
    repo = make_repo("app")
    repo.write("app.py", "a\nb\nc\n")
    c1 = repo.commit("Add app", author=ADA, date="2024-01-01T10:00:00+00:00")
    repo.write("app.py", "a\nB\nc\n")
    c2 = repo.commit("Speed up b", author=BOB, date="2024-01-02T10:00:00+00:00")
    repo.write("app.py", "a\nb2\nc\n")
    c3 = repo.commit("fix: crash when B is empty", author=ADA, date="2024-01-03T10:00:00+00:00")
    repo.write("app.py", "a\nb2\nc\nd\n")
    c4 = repo.commit("Handle empty input (#7)", author=BOB, date="2024-01-04T10:00:00+00:00")
    repo.write("app.py", "a\nb2\nc\n")
    c5 = repo.commit(f'Revert "Handle empty input (#7)"\n\nThis reverts commit {c4}.', author=ADA,
                     date="2024-01-05T10:00:00+00:00")
    collect_git(con, repo.path, repo_id="acme/app")
    insert(con, "issues", repo_id="acme/app", number=7, title="Crash on empty input", state="closed",
           created_at=ts("2023-12-30 10:00"), labels=["type: bug", "p1"])
    add_person(con, "p-ada", emails=("ada@example.com",))
    add_person(con, "p-bob", emails=("bob@example.com",))
    return repo, frames_of(con), {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def test_bug_fixes_and_reverts(history):
    _, frames, sha = history
    rows = {r["sha"]: r for r in classify_commits(frames).collect().iter_rows(named=True)}
    assert rows[sha["c3"]]["is_bug_fix"] and rows[sha["c3"]]["fix_reason"] == "message"
    assert rows[sha["c4"]]["is_bug_fix"] and rows[sha["c4"]]["fix_reason"] == "bug_issue"
    assert not rows[sha["c1"]]["is_bug_fix"] and not rows[sha["c2"]]["is_bug_fix"]
    assert rows[sha["c5"]]["is_revert"] and not rows[sha["c4"]]["is_revert"]


def test_szz_finds_the_commit_that_introduced_the_fixed_line(history):
    repo, frames, sha = history
    found = szz(repo.path, "acme/app", [sha["c3"]])
    assert found.rows() == [("acme/app", sha["c3"], sha["c2"], "app.py")]
    rates = defect_rate(frames, found).collect().row(0, named=True)
    # 5 commits, 2 bug fixes (c3, c4), 1 revert, 1 bug-introducing commit (c2): rate 1/5.
    assert (rates["commits"], rates["bug_fixes"], rates["reverts"], rates["bug_introducing_commits"]) == (5, 2, 1, 1)
    assert rates["defect_rate"] == pytest.approx(0.2)
    # A person sees their own: bob wrote c2 and c4, one of which introduced a bug.
    mine = defect_rate(frames, found, by="person").collect()
    bob = mine.filter(mine["person_key"] == "p-bob").row(0, named=True)
    assert (bob["commits"], bob["bug_introducing_commits"]) == (2, 1)


def test_defect_rate_without_szz_is_unknown_not_zero(history):
    _, frames, _ = history
    row = defect_rate(frames).collect().row(0, named=True)
    assert row["bug_introducing_commits"] is None and row["defect_rate"] is None


def test_szz_on_a_path_that_is_not_a_repository(tmp_path):
    with pytest.raises(CollectionError, match="not a git repository"):
        szz(tmp_path / "nowhere", "x/y", ["abc"])
