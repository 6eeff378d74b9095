"""Changes landed (docs/metrics.md "Changes landed"): merged PRs plus commits that belong to no PR, in
repositories whose PRs were collected; the rubric's "Shipped steadily" reads it, so a maintainer who pushes
straight to the default branch is judged on those commits too.

acme/api's history (UTC; Mia is the person, the period 2025-Q1, 90 days = 90/7 weeks):
  c0  2024-09-01 Mia, direct                 (the data starts here: the previous period is covered)
  c1  2024-12-01 Mia, direct                 (before acme/api's first collected PR, 2025-01-08: not counted)
  s1  2025-01-09 Mia "Add x (#1)"            (PR 1's squash commit; PR 1 merged 2025-01-10)
  d1  2025-01-15 Mia, direct
  d2  2025-02-01 Mia, direct
  b1  2025-02-05 Mia, on a branch off d2     (PR 2's own commits, found by walking its merge commit)
  b2  2025-02-06 Mia, on the branch
  m2  2025-02-11 "Merge pull request #2"     (merge commit: parents d2, b2; PR 2 merged 2025-02-11)
  d3  2025-03-03 Mia, direct
  x1  2025-03-05 Bob, direct                 (not Mia's)
acme/tools (git only, no PR collected): t1 2025-01-20 Mia (a commit, but no way to tell whether it came
through a PR: not counted here; commits_landed counts it).

By hand for 2025-Q1: merged PRs 2 (PR 1, PR 2), direct commits 3 (d1, d2, d3), changes 5, per week
5 / (90/7) = 0.39 -> 0.4; previous period (2024-10-03 to 2024-12-31): c1 only, before the first PR: 0.
"""

from __future__ import annotations

from datetime import date

from impactlens.evidence import build_packet
from impactlens.evidence import claims as C
from impactlens.evidence.claims import Subject
from impactlens.evidence.rubric import EVIDENCED, PARTLY
from builders import add_commit, add_person, add_pr, insert, ts

Q1 = (date(2025, 1, 1), date(2025, 3, 31))
MIA = "mia@example.com"


def commit(con, sha, at, parents, *, email=MIA, repo="acme/api", subject="work", is_merge=False, pr_number=None):
    insert(con, "commits", repo_id=repo, sha=sha, author_name=email.split("@")[0], author_email=email,
           authored_at=ts(at), author_utc_offset_minutes=0, committed_at=ts(at), committer_utc_offset_minutes=0,
           subject=subject, body="", parent_shas=parents, is_merge=is_merge, insertions=1, deletions=0,
           files_changed=1, pr_number=pr_number)


def world(con):
    add_person(con, "p-mia", logins=("mia",), emails=(MIA,))
    add_person(con, "p-bob", logins=("bob",), emails=("bob@example.com",))
    commit(con, "c0", "2024-09-01 10:00", [])
    commit(con, "c1", "2024-12-01 10:00", ["c0"])
    commit(con, "s1", "2025-01-09 10:00", ["c1"], subject="Add x (#1)", pr_number=1)
    commit(con, "d1", "2025-01-15 10:00", ["s1"])
    commit(con, "d2", "2025-02-01 10:00", ["d1"])
    commit(con, "b1", "2025-02-05 10:00", ["d2"])
    commit(con, "b2", "2025-02-06 10:00", ["b1"])
    commit(con, "m2", "2025-02-11 10:00", ["d2", "b2"], subject="Merge pull request #2 from mia/feature",
           is_merge=True, pr_number=2)
    commit(con, "d3", "2025-03-03 10:00", ["m2"])
    commit(con, "x1", "2025-03-05 10:00", ["d3"], email="bob@example.com")
    add_commit(con, "t1", MIA, "2025-01-20 10:00", repo="acme/tools")
    add_pr(con, 1, "mia", "2025-01-08 10:00", merged_at="2025-01-10 10:00", merge_commit_sha="s1")
    add_pr(con, 2, "mia", "2025-02-04 10:00", merged_at="2025-02-11 10:00", merge_commit_sha="m2")


def test_changes_are_merged_prs_plus_commits_that_belong_to_no_pr(con):
    world(con)
    [claim] = C.changes_landed(Subject(con, "p-mia", *Q1))
    assert claim.figure("changes_landed").value == 5
    assert claim.figure("changes_landed").previous == 0
    assert claim.figure("direct_commits").value == 3
    assert claim.figure("changes_landed_per_week").value == 0.4
    assert {r.key for r in claim.records if r.kind == "commit"} == {"d1", "d2", "d3"}
    assert sorted(r.label for r in claim.records if r.kind == "pr") == ["acme/api#1", "acme/api#2"]
    assert claim.subjects == ["acme/api"]
    assert "landed 5 changes in the period (0 in the previous period of equal length), 0.4 per week: " \
           "2 merged PRs and 3 commits pushed without a PR." in claim.sentence
    # Bob's one direct commit in March is his, not Mia's.
    [bob] = C.changes_landed(Subject(con, "p-bob", *Q1))
    assert bob.figure("changes_landed").value == 1 and bob.figure("direct_commits").value == 1


def test_shipped_steadily_reads_changes_landed(con):
    world(con)
    shipped = lambda packet: next(i for i in packet.audit if i.title.startswith("Shipped steadily"))  # noqa: E731
    # Q1: 0.4 changes a week is partly evidenced (at least one change, fewer than one a week).
    assert shipped(build_packet(con, "p-mia", *Q1, charts=False)).status == PARTLY
    # 2025-02-01 to 2025-02-14 (2 weeks): d2 and PR 2, 1.0 a week. Merged PRs alone (0.5 a week) would not
    # have been enough: the direct commit counts.
    two_weeks = shipped(build_packet(con, "p-mia", date(2025, 2, 1), date(2025, 2, 14), charts=False))
    assert two_weeks.status == EVIDENCED
    assert "figure changes_landed_per_week >= 1: 1" in two_weeks.measured


def test_no_pull_requests_collected_means_no_changes_claim(con):
    add_person(con, "p-mia", emails=(MIA,))
    add_commit(con, "t1", MIA, "2025-01-20 10:00", repo="acme/tools")
    assert C.changes_landed(Subject(con, "p-mia", *Q1)) == []
