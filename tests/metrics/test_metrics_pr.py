"""PR metrics on a small hand-built warehouse; every expected value is worked out in the comments.

The organisation (all times UTC; 2024-01-01 is a Monday; business hours Mon-Fri 09:00-17:00 UTC):

* alice is one person with two logins (alice, Alice-Work) and two emails (identities merged);
  bob has an identity; carol has none (an unresolved login still counts as an actor);
  dependabot[bot] is a bot (the row flag says so); coderabbitai is an AI reviewer (identity bot_kind).
* PR 1 (alice): first commit Mon 08:00, opened Mon 10:00; the AI reviewer comments 10:05; bob approves
  14:00; merged Tue 10:00; deployment d1 Tue 12:00. Squash commit s1: 100+20 lines of code, a lockfile
  of 5000 lines and a vendored file of 300 lines.
* PR 2 (Alice-Work = alice): opened Wed 09:00, still open; alice "reviews" it herself 10:00
  (a self-review across merged identities) and dependabot reviews it 11:00: never reviewed.
* PR 3 (carol): opened Thu 4th 09:00 as a draft, bob comments while draft 12:00, ready for review
  Fri 5th 16:00, review requested from bob Fri 17:00, bob reviews Mon 8th 10:00, merged Mon 12:00,
  deployment d2 Tue 9th 09:00. 150+100 lines (GitHub's totals: no commit files).
* PR 4 (bob): opened Wed 10th 10:00, closed, reopened Fri 12th 10:00, alice comments 13:00, merged 15:00.
  No deployment after it. 10+0 lines.
* PR 5 (bob): opened Mon 15th 10:00, merged 11:30 with no review or comment. 300+50 lines.
* PR 6 (dependabot[bot]): merged Tue 2nd 09:00, 1000 lines: a bot's PR, left out of human figures.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from impactlens.metrics import Scope, cycle_time, pr_facts, pr_size, throughput, time_to_first_review
from builders import (
    add_comment, add_commit, add_deployment, add_event, add_person, add_pr, add_review, frames_of,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def org(con):
    add_person(con, "p-alice", logins=("alice", "Alice-Work"), emails=("alice@x.com", "alice@home.org"))
    add_person(con, "p-bob", logins=("bob",), emails=("bob@x.com",))
    add_person(con, "coderabbit", logins=("coderabbitai",), is_bot=True, bot_kind="ai_reviewer")

    add_pr(con, 1, "alice", "2024-01-01 10:00", first_commit_at="2024-01-01 08:00", merged_at="2024-01-02 10:00",
           additions=5420, deletions=20, changed_files=3)
    add_review(con, 1, "coderabbitai", "2024-01-01 10:05", state="COMMENTED")
    add_review(con, 1, "bob", "2024-01-01 14:00")
    add_commit(con, "s1", "Alice@X.com", "2024-01-02 10:00", pr_number=1, subject="Add API (#1)", files={
        "src/api/a.py": (100, 20, "code"), "package-lock.json": (5000, 0, "lockfile"),
        "vendor/x.js": (300, 0, "vendored"),
    })
    add_deployment(con, "d1", "2024-01-02 12:00")

    add_pr(con, 2, "Alice-Work", "2024-01-03 09:00")
    add_review(con, 2, "alice", "2024-01-03 10:00", state="COMMENTED")
    add_review(con, 2, "dependabot[bot]", "2024-01-03 11:00", state="COMMENTED", reviewer_is_bot=True)
    add_commit(con, "c2", "alice@home.org", "2024-01-03 12:00", files={"src/web/b.ts": (5, 5, "code")})

    add_pr(con, 3, "carol", "2024-01-04 09:00", merged_at="2024-01-08 12:00", additions=150, deletions=100,
           changed_files=4)
    add_comment(con, 3, "bob", "2024-01-04 12:00")
    add_event(con, 3, "ReadyForReviewEvent", "2024-01-05 16:00", actor="carol")
    add_event(con, 3, "review_requested", "2024-01-05 17:00", actor="carol", subject="bob")
    add_review(con, 3, "bob", "2024-01-08 10:00", state="COMMENTED")
    add_deployment(con, "d2", "2024-01-09 09:00")

    add_pr(con, 4, "bob", "2024-01-10 10:00", merged_at="2024-01-12 15:00", additions=10, deletions=0, changed_files=1)
    add_event(con, 4, "closed", "2024-01-10 18:00", actor="bob")
    add_event(con, 4, "reopened", "2024-01-12 10:00", actor="bob")
    add_comment(con, 4, "alice", "2024-01-12 13:00", kind="issue_comment")

    add_pr(con, 5, "bob", "2024-01-15 10:00", merged_at="2024-01-15 11:30", additions=300, deletions=50)

    add_pr(con, 6, "dependabot[bot]", "2024-01-02 08:00", merged_at="2024-01-02 09:00", author_is_bot=True,
           additions=1000, deletions=0)
    return frames_of(con)


def facts_by_number(frames):
    return {row["number"]: row for row in pr_facts(frames).collect().iter_rows(named=True)}


def test_time_to_first_review_per_pr(org):
    f = facts_by_number(org)
    # PR 1: the AI reviewer at 10:05 does not count; bob at 14:00 does: 4 h, all inside Monday's hours.
    assert f[1]["first_response_kind"] == "review"
    assert f[1]["time_to_first_review_hours"] == pytest.approx(4.0)
    assert f[1]["time_to_first_review_business_hours"] == pytest.approx(4.0)
    # PR 2: a self-review under another login of the same person and a bot review: never reviewed.
    assert f[2]["author_key"] == "p-alice"
    assert f[2]["never_reviewed"] is True
    assert f[2]["first_response_at"] is None and f[2]["time_to_first_review_hours"] is None
    # PR 3: the wait starts when the draft became ready (Fri 16:00), not at creation; bob's draft-time
    # comment is ignored. Fri 16:00 -> Mon 10:00 = 66 h; business hours: Fri 16-17 + Mon 9-10 = 2.
    assert f[3]["ready_at"] == utc("2024-01-05 16:00")
    assert f[3]["author_key"] == "github_login:carol"
    assert f[3]["time_to_first_review_hours"] == pytest.approx(66.0)
    assert f[3]["time_to_first_review_business_hours"] == pytest.approx(2.0)
    # PR 4: reopened Fri 12th 10:00; alice's comment at 13:00 ends the wait: 3 h.
    assert f[4]["ready_at"] == utc("2024-01-12 10:00")
    assert f[4]["first_response_kind"] == "comment"
    assert f[4]["time_to_first_review_hours"] == pytest.approx(3.0)
    # PR 5: merged with no review: reported as never reviewed and merged unreviewed, with no wait for a
    # first review (not a 1.5 h one); its pickup phase still ends at the merge (10:00 -> 11:30).
    assert f[5]["first_response_kind"] == "merge"
    assert (f[5]["never_reviewed"], f[5]["merged_unreviewed"]) == (True, True)
    assert f[5]["time_to_first_review_hours"] is None
    assert f[5]["time_to_first_review_business_hours"] is None
    assert f[5]["pickup_hours"] == pytest.approx(1.5)
    assert f[1]["merged_unreviewed"] is False


def test_cycle_time_phases_per_pr(org):
    f = facts_by_number(org)
    # PR 1: coding 08:00->10:00 = 2, pickup 10:00->14:00 = 4, review 14:00->Tue 10:00 = 20, deploy 2.
    assert (f[1]["coding_hours"], f[1]["pickup_hours"], f[1]["review_hours"], f[1]["deploy_hours"]) == (
        pytest.approx(2.0), pytest.approx(4.0), pytest.approx(20.0), pytest.approx(2.0))
    assert f[1]["cycle_time_hours"] == pytest.approx(28.0)
    assert f[1]["deployment_id"] == "d1"
    # PR 3: no first commit known, so coding runs from creation (Thu 09:00) to ready (Fri 16:00) = 31 h;
    # pickup 66, review Mon 10->12 = 2, deploy Mon 12:00 -> Tue 09:00 = 21: 120 h in all.
    assert f[3]["coding_hours"] == pytest.approx(31.0)
    assert f[3]["review_hours"] == pytest.approx(2.0)
    assert f[3]["deploy_hours"] == pytest.approx(21.0)
    assert f[3]["cycle_time_hours"] == pytest.approx(120.0)
    # PR 4: Wed 10:00 -> Fri 10:00 coding (48) + pickup 3 + review 2; never deployed.
    assert f[4]["cycle_time_to_merge_hours"] == pytest.approx(53.0)
    assert f[4]["deployed_at"] is None and f[4]["cycle_time_hours"] is None
    # Open PR 2 has no phases.
    assert f[2]["coding_hours"] is None and f[2]["cycle_time_to_merge_hours"] is None


def test_pr_size_excludes_lockfiles_vendored_and_bots(org):
    f = facts_by_number(org)
    assert (f[1]["changed_lines"], f[1]["excluded_lines"], f[1]["files_changed"], f[1]["size_source"]) == (
        120, 5300, 1, "commits")
    assert (f[3]["changed_lines"], f[3]["size_source"]) == (250, "github_totals")
    # Merged human PRs: 120, 250, 10, 350 (the bot's 1000-line PR 6 is left out).
    row = pr_size(org).collect().row(0, named=True)
    assert row["prs"] == 4
    assert row["median_changed_lines"] == pytest.approx((120 + 250) / 2)
    # p90 by linear interpolation over [10, 120, 250, 350]: position 0.9 * 3 = 2.7 -> 250 + 0.7 * 100.
    assert row["p90_changed_lines"] == pytest.approx(320.0)
    assert row["share_under_200"] == pytest.approx(0.5)
    per_person = {r["person_key"]: r["prs"] for r in pr_size(org, by="person").collect().iter_rows(named=True)}
    assert per_person == {"p-alice": 1, "github_login:carol": 1, "p-bob": 2}


def test_time_to_first_review_summary(org):
    row = time_to_first_review(org).collect().row(0, named=True)
    # Ready human PRs: 1, 2, 3, 4, 5. Waits for a review that came: 4, 66, 3 h; PR 5 was merged
    # unreviewed: counted apart (1 of the 4 merged PRs 1, 3, 4, 5), not as a 1.5 h wait.
    assert (row["prs"], row["reviewed_prs"], row["never_reviewed_prs"], row["ended_by_merge"], row["waiting_prs"]) == (
        5, 3, 2, 1, 1)
    assert (row["merged_prs"], row["unreviewed_merge_share"]) == (4, pytest.approx(0.25))
    assert row["median_hours"] == pytest.approx(4.0)
    assert row["mean_hours"] == pytest.approx((4 + 66 + 3) / 3)
    # A person's figures gather both of alice's logins.
    alice = time_to_first_review(org, Scope(person="p-alice")).collect().row(0, named=True)
    assert (alice["prs"], alice["never_reviewed_prs"], alice["median_hours"]) == (2, 1, pytest.approx(4.0))


def test_weekly_figures_follow_the_period_of_their_start(org):
    # PR 3 became ready on Fri 5th (week of Mon 1st) and was reviewed on Mon 8th (next week): its wait
    # belongs to the week it started waiting.
    weekly = time_to_first_review(org, by="repo", grain="week").collect()
    weeks = {r["period_start"]: r for r in weekly.iter_rows(named=True)}
    first = weeks[utc("2024-01-01 00:00")]
    assert first["prs"] == 3  # PRs 1, 2, 3
    assert first["median_hours"] == pytest.approx((4 + 66) / 2)
    assert weeks[utc("2024-01-08 00:00")]["prs"] == 1  # PR 4 (reopened on the 12th)


def test_cycle_time_summary_and_scope(org):
    row = cycle_time(org).collect().row(0, named=True)
    # To merge: PR1 26, PR3 99, PR4 53, PR5 1.5 -> median (26 + 53) / 2.
    assert row["prs"] == 4 and row["deployed_prs"] == 2
    assert row["median_cycle_time_to_merge_hours"] == pytest.approx(39.5)
    assert row["median_cycle_time_hours"] == pytest.approx((28 + 120) / 2)
    # A date range keeps PRs merged inside it: only PR 5 was merged on or after the 13th.
    later = cycle_time(org, Scope(start="2024-01-13")).collect().row(0, named=True)
    assert later["prs"] == 1 and later["median_cycle_time_to_merge_hours"] == pytest.approx(1.5)


def test_throughput_counts_people_not_logins(org):
    rows = {(r["person_key"], r["period_start"]): r
            for r in throughput(org, by="person", grain="week").collect().iter_rows(named=True)}
    alice = rows[("p-alice", utc("2024-01-01 00:00"))]
    # PR 1 merged; commits under two emails; folders src/api and src/web (the lockfile and vendored
    # file are left out); her self-review is not a review given.
    assert (alice["prs_merged"], alice["prs_opened"], alice["commits"], alice["reviews_given"]) == (1, 2, 2, 0)
    assert alice["directories_touched"] == 2 and alice["repos_touched"] == 1
    bob = rows[("p-bob", utc("2024-01-01 00:00"))]
    assert bob["reviews_given"] == 1  # the approval of PR 1; his review of PR 3 is in the next week
    # No bot anywhere.
    assert not any("dependabot" in key or key == "coderabbit" for key, _ in rows)


def test_team_scope_uses_membership_at_the_time(org, con):
    from builders import add_member

    # bob moved from team core to team edge on the 13th: PR 4 (merged 12th) is core's, PR 5 (15th) edge's.
    add_member(con, "p-bob", "core", "2023-06-01", "2024-01-13")
    add_member(con, "p-bob", "edge", "2024-01-13")
    frames = frames_of(con)
    per_team = {r["team_id"]: r["prs"] for r in pr_size(frames, by="team").collect().iter_rows(named=True)}
    assert per_team == {"core": 1, "edge": 1}
    core = pr_size(frames, Scope(team="core")).collect().row(0, named=True)
    assert core["median_changed_lines"] == pytest.approx(10.0)


def test_repo_filter_at_load(con):
    add_pr(con, 1, "x", "2024-01-01 10:00", repo="a/one", merged_at="2024-01-01 12:00", additions=1, deletions=1)
    add_pr(con, 1, "x", "2024-01-01 10:00", repo="b/two", merged_at="2024-01-01 12:00", additions=5, deletions=5)
    from impactlens.metrics import load

    frames = load(con, repos=["b/two"])
    assert pr_size(frames).collect()["median_changed_lines"].to_list() == [10.0]



def test_throughput_by_repo_and_team(org, con):
    from builders import add_member

    # bob moves from core to edge on the 13th (PR 4 merged on the 12th is core's, PR 5 on the 15th edge's);
    # alice is in core; carol is in no team. bob also merges PR 7 in another repository on the 16th.
    add_member(con, "p-alice", "core", "2023-06-01")
    add_member(con, "p-bob", "core", "2023-06-01", "2024-01-13")
    add_member(con, "p-bob", "edge", "2024-01-13")
    add_pr(con, 7, "bob", "2024-01-16 10:00", repo="acme/web", merged_at="2024-01-16 12:00", additions=1, deletions=0)
    frames = frames_of(con)
    columns = ("prs_merged", "prs_opened", "commits", "reviews_given", "repos_touched", "directories_touched")
    per_repo = {r["repo_id"]: tuple(r[c] for c in columns)
                for r in throughput(frames, by="repo", grain=None).collect().iter_rows(named=True)}
    # acme/api: merged 1, 3, 4, 5 (the bot's PR 6 is left out); opened 1-5; alice's commits s1 and c2;
    # bob's reviews of PRs 1 and 3 (the AI reviewer, the bot and alice's self-review are left out);
    # folders src/api (s1, the lockfile and vendored file left out) and src/web (c2).
    # acme/web: PR 7 only.
    assert per_repo == {"acme/api": (4, 5, 2, 2, 1, 2), "acme/web": (1, 1, 0, 0, 1, 0)}
    per_team = {r["team_id"]: tuple(r[c] for c in columns)
                for r in throughput(frames, by="team", grain=None).collect().iter_rows(named=True)}
    # core: merged PR 1 (alice) and PR 4 (bob, 12th); opened PRs 1, 2 (alice), 4 (bob, 10th); alice's two
    # commits; bob's two reviews (1st and 8th); one repository; alice's two folders.
    # edge: bob's PR 5 (acme/api) and PR 7 (acme/web), merged and opened after the 13th: two repositories.
    assert per_team == {"core": (2, 3, 2, 2, 1, 2), "edge": (2, 2, 0, 0, 2, 0)}


def test_deleted_accounts_are_nobody(con):
    """Deleted GitHub accounts ("ghosts") have no login (NULL).

    PR 1 (alice), opened Mon 09:00: a ghost approves 11:00, bob comments 15:00, merged 16:00.
    PR 2 (a ghost), opened Tue 09:00: another ghost approves 10:00, bob approves 12:00, merged 16:00.
    """
    from impactlens.metrics import review_turnaround

    add_person(con, "p-alice", logins=("alice",))
    add_person(con, "p-bob", logins=("bob",))
    add_pr(con, 1, "alice", "2024-01-01 09:00", merged_at="2024-01-01 16:00", additions=10, deletions=0)
    add_review(con, 1, None, "2024-01-01 11:00")
    add_comment(con, 1, "bob", "2024-01-01 15:00")
    add_pr(con, 2, None, "2024-01-02 09:00", merged_at="2024-01-02 16:00", additions=30, deletions=0)
    add_review(con, 2, None, "2024-01-02 10:00")
    add_review(con, 2, "bob", "2024-01-02 12:00")
    frames = frames_of(con)
    f = facts_by_number(frames)
    # A ghost is never the author: its approval at 11:00 is PR 1's first response (2 h), not bob's 15:00.
    assert f[1]["first_human_response_at"] == utc("2024-01-01 11:00")
    assert f[1]["time_to_first_review_hours"] == pytest.approx(2.0)
    # Two deleted accounts are not known to be the same person: the ghost's review of a ghost's PR counts (1 h).
    assert f[2]["time_to_first_review_hours"] == pytest.approx(1.0)
    # Cycles from the ready time: ghost on PR 1 2 h, ghost on PR 2 1 h, bob on PR 2 3 h.
    org = review_turnaround(frames, by=None).collect().row(0, named=True)
    assert org["cycles"] == 3 and org["mean_hours"] == pytest.approx(2.0)
    # Per person, ghosts form no row of their own.
    per_person = review_turnaround(frames, by="person").collect()
    assert per_person["person_key"].to_list() == ["p-bob"]
    assert pr_size(frames, by="person").collect()["person_key"].to_list() == ["p-alice"]
    # ... but count for the repository and the organisation: 10 and 30 lines.
    repo = pr_size(frames, by="repo").collect().row(0, named=True)
    assert (repo["repo_id"], repo["prs"], repo["total_changed_lines"]) == ("acme/api", 2, 40)
    people = {r["person_key"]: (r["prs_merged"], r["prs_opened"], r["reviews_given"], r["repos_touched"])
              for r in throughput(frames, by="person", grain=None).collect().iter_rows(named=True)}
    assert people == {"p-alice": (1, 1, 0, 1), "p-bob": (0, 0, 1, 1)}
    whole = throughput(frames, by=None, grain=None).collect().row(0, named=True)
    # Both PRs, three reviews (two by ghosts), one repository.
    assert (whole["prs_merged"], whole["prs_opened"], whole["reviews_given"], whole["repos_touched"]) == (2, 2, 3, 1)


@pytest.fixture
def lifecycles(con):
    """PRs that leave and re-enter review (all by alice; bob and carol review; 2024-01-01 is a Monday).

    * PR 1: opened Mon 1st 10:00, merged 12:00 with no review; bob comments 13:00, after the merge.
    * PR 2: opened Tue 2nd 10:00 as a draft, bob reviews the draft 11:00, closed Wed 3rd 10:00 without
      ever being ready (an abandoned draft).
    * PR 3: opened Mon 8th 09:00 as a draft, ready Tue 9th 09:00, bob reviews 11:00 (no request), back to
      draft 12:00, ready again Wed 10th 09:00, bob re-requested 09:30 and approves 09:45, merged 10:00.
    * PR 4: opened Mon 15th 09:00, carol approves 10:00, closed and reopened 11:00 to re-run CI (the
      collector stores only the ``reopened`` event), merged 11:30.
    * PR 5: opened Mon 22nd 09:00 as a draft, bob requested while draft 09:05, ready Thu 25th 09:00 (the
      ``ReadyForReviewEvent`` spelling), bob approves 10:00, merged 12:00.
    * PR 6: opened Mon 29th 09:00, closed 12:00 unreviewed, reopened Wed 31st 09:00, bob approves 11:00,
      merged 12:00.
    * PR 7: opened Mon 1st 14:00 ready, back to draft 15:00, bob comments 16:00; an open draft now.
    * PR 8: opened Mon 1st 14:00 as a draft and still one.
    """
    add_person(con, "p-alice", logins=("alice",))
    add_person(con, "p-bob", logins=("bob",))
    add_person(con, "p-carol", logins=("carol",))

    add_pr(con, 1, "alice", "2024-01-01 10:00", merged_at="2024-01-01 12:00", closed_at="2024-01-01 12:00")
    add_comment(con, 1, "bob", "2024-01-01 13:00", kind="issue_comment")

    add_pr(con, 2, "alice", "2024-01-02 10:00", is_draft=True, state="closed", closed_at="2024-01-03 10:00")
    add_review(con, 2, "bob", "2024-01-02 11:00", state="COMMENTED")

    add_pr(con, 3, "alice", "2024-01-08 09:00", merged_at="2024-01-10 10:00")
    add_event(con, 3, "ready_for_review", "2024-01-09 09:00", actor="alice")
    add_review(con, 3, "bob", "2024-01-09 11:00", state="COMMENTED")
    add_event(con, 3, "convert_to_draft", "2024-01-09 12:00", actor="alice")
    add_event(con, 3, "ready_for_review", "2024-01-10 09:00", actor="alice")
    add_event(con, 3, "review_requested", "2024-01-10 09:30", actor="alice", subject="bob")
    add_review(con, 3, "bob", "2024-01-10 09:45")

    add_pr(con, 4, "alice", "2024-01-15 09:00", merged_at="2024-01-15 11:30")
    add_review(con, 4, "carol", "2024-01-15 10:00")
    add_event(con, 4, "reopened", "2024-01-15 11:00", actor="alice")

    add_pr(con, 5, "alice", "2024-01-22 09:00", merged_at="2024-01-25 12:00")
    add_event(con, 5, "review_requested", "2024-01-22 09:05", actor="alice", subject="bob")
    add_event(con, 5, "ReadyForReviewEvent", "2024-01-25 09:00", actor="alice")
    add_review(con, 5, "bob", "2024-01-25 10:00")

    add_pr(con, 6, "alice", "2024-01-29 09:00", merged_at="2024-01-31 12:00")
    add_event(con, 6, "closed", "2024-01-29 12:00", actor="alice")
    add_event(con, 6, "reopened", "2024-01-31 09:00", actor="alice")
    add_review(con, 6, "bob", "2024-01-31 11:00")

    add_pr(con, 7, "alice", "2024-01-01 14:00", is_draft=True)
    add_event(con, 7, "convert_to_draft", "2024-01-01 15:00", actor="alice")
    add_comment(con, 7, "bob", "2024-01-01 16:00", kind="issue_comment")

    add_pr(con, 8, "alice", "2024-01-01 14:00", is_draft=True)
    return frames_of(con)


def test_responses_outside_ready_periods_never_count(lifecycles):
    f = facts_by_number(lifecycles)
    # PR 1: bob's comment came after the merge: merged unreviewed, never reviewed, no wait figure.
    assert f[1]["first_human_response_at"] is None
    assert (f[1]["first_response_kind"], f[1]["never_reviewed"]) == ("merge", True)
    assert f[1]["time_to_first_review_hours"] is None
    # PR 2 never left draft: no ready time, bob's draft review is no response, and it did not wait.
    assert f[2]["ready_at"] is None and f[2]["first_human_response_at"] is None
    assert f[2]["never_reviewed"] is None and f[2]["time_to_first_review_hours"] is None
    # PR 3: bob's review at Tue 11:00 fell in the ready period that began Tue 09:00: 2 h, timed from
    # that period even though the PR went back to draft afterwards.
    assert (f[3]["ready_at"], f[3]["first_human_response_at"]) == (utc("2024-01-09 09:00"), utc("2024-01-09 11:00"))
    assert f[3]["time_to_first_review_hours"] == pytest.approx(2.0)
    # Phases: coding Mon 09:00 -> Tue 09:00 = 24, pickup 2, review Tue 11:00 -> Wed 10:00 = 23; 49 in all.
    assert (f[3]["coding_hours"], f[3]["pickup_hours"], f[3]["review_hours"]) == (
        pytest.approx(24.0), pytest.approx(2.0), pytest.approx(23.0))
    assert f[3]["cycle_time_to_merge_hours"] == pytest.approx(49.0)
    # PR 4: carol's approval at 10:00 came before the close/reopen: it counts, from creation: 1 h.
    assert (f[4]["ready_at"], f[4]["first_response_kind"]) == (utc("2024-01-15 09:00"), "review")
    assert f[4]["time_to_first_review_hours"] == pytest.approx(1.0)
    # PR 5: ready Thu 09:00, bob at 10:00: 1 h.
    assert f[5]["ready_at"] == utc("2024-01-25 09:00")
    assert f[5]["time_to_first_review_hours"] == pytest.approx(1.0)
    # PR 6: the first period (Mon 09:00-12:00) had no response; the wait runs from the reopen (Wed 09:00)
    # to bob at 11:00: 2 h. Coding runs from creation to that ready time: Mon 09:00 -> Wed 09:00 = 48 h.
    assert (f[6]["ready_at"], f[6]["never_reviewed"]) == (utc("2024-01-31 09:00"), False)
    assert f[6]["time_to_first_review_hours"] == pytest.approx(2.0)
    assert f[6]["coding_hours"] == pytest.approx(48.0)
    # PR 7 is a draft now and got no response while it was ready; PR 8 never left draft: neither waits.
    for n in (7, 8):
        assert f[n]["ready_at"] is None and f[n]["never_reviewed"] is None and f[n]["first_response_at"] is None


def test_time_to_first_review_counts_each_pr_once(lifecycles):
    row = time_to_first_review(lifecycles).collect().row(0, named=True)
    # PRs with a ready time: 1, 3, 4, 5, 6 (not the drafts 2, 7, 8). Reviewed: 3, 4, 5, 6; PR 1 ended by
    # its merge and is the one never reviewed (1 of 5 merged PRs). Waits of the reviewed ones 2, 1, 1, 2 h:
    # median 1.5, mean 6 / 4.
    assert (row["prs"], row["reviewed_prs"], row["ended_by_merge"], row["never_reviewed_prs"], row["waiting_prs"]) == (
        5, 4, 1, 1, 0)
    assert (row["merged_prs"], row["unreviewed_merge_share"]) == (5, pytest.approx(0.2))
    assert row["median_hours"] == pytest.approx(1.5)
    assert row["mean_hours"] == pytest.approx(1.5)


def test_review_cycles_start_inside_ready_periods(lifecycles):
    from impactlens.metrics import review_cycles

    cycles = review_cycles(lifecycles).collect()
    got = sorted((r["pr_number"], r["reviewer_key"], r["start_at"], r["start_kind"], r["turnaround_hours"])
                 for r in cycles.iter_rows(named=True))
    assert got == [
        # PR 2: bob's review of the draft is not a cycle.
        # PR 3: no request: from the ready period's start (Tue 09:00) to 11:00. Back in review, the new
        # request at Wed 09:30 (after that review, inside the period begun 09:00) to the approval 09:45.
        (3, "p-bob", utc("2024-01-09 09:00"), "ready", pytest.approx(2.0)),
        (3, "p-bob", utc("2024-01-10 09:30"), "request", pytest.approx(0.25)),
        # PR 4: carol from creation to her approval before the close/reopen: 1 h.
        (4, "p-carol", utc("2024-01-15 09:00"), "ready", pytest.approx(1.0)),
        # PR 5: requested while a draft: the cycle starts when the PR became ready (Thu 09:00), not at the
        # request three days earlier: 1 h.
        (5, "p-bob", utc("2024-01-25 09:00"), "ready", pytest.approx(1.0)),
        # PR 6: reviewed in the period begun by the reopen (Wed 09:00): 2 h.
        (6, "p-bob", utc("2024-01-31 09:00"), "ready", pytest.approx(2.0)),
    ]


def test_pr_size_counts_merged_prs_without_size_data(org, con):
    # dave's PR 7 was merged with neither commit files nor GitHub's totals: it has no size. It is left out
    # of the size figures and counted in prs_without_size.
    add_pr(con, 7, "dave", "2024-01-16 10:00", merged_at="2024-01-16 12:00")
    frames = frames_of(con)
    row = pr_size(frames).collect().row(0, named=True)
    # Sized merged human PRs as before: 10, 120, 250, 350 lines.
    assert (row["prs"], row["prs_without_size"]) == (4, 1)
    assert row["median_changed_lines"] == pytest.approx(185.0)
    assert row["share_under_200"] == pytest.approx(0.5)
    dave = pr_size(frames, Scope(person="github_login:dave")).collect().row(0, named=True)
    assert (dave["prs"], dave["prs_without_size"], dave["median_changed_lines"]) == (0, 1, None)


def _lines(n: int) -> str:
    return "".join(f"line {i}\n" for i in range(n))


def test_merge_commit_pr_size_walks_the_merge_parents(con, make_repo):
    """A merge-commit workflow: the PR's commits carry no PR number, so its size comes from the commits
    its merge commit's second parent reaches and its first parent does not.

    main: root (app.py 10 lines) -> m1 (direct push: docs.md 4 lines) -> M (Merge pull request #7).
    Branch from root: b1 (app.py +5, poetry.lock 40 lines), b2 merges main (m1) into the branch,
    b3 (util.py 3 lines, app.py 2 lines rewritten: +2 -2). PR 7's own commits: b1, b3 (b2 is a merge, m1
    and root are reachable from M's first parent). Changed lines: b1 5 (the lockfile's 40 are
    excluded) + b3 3 + 2 + 2 = 12; excluded 40; files app.py, util.py = 2. GitHub's totals (made up
    here: 60 + 2) would have counted the lockfile. PR 8 has no merge commit stored: GitHub's totals.
    """
    from impactlens.collectors.git import collect_git

    repo = make_repo("web")
    repo.write("app.py", _lines(10))
    repo.commit("root", date="2024-03-01T09:00:00+00:00")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", _lines(15))
    repo.write("poetry.lock", _lines(40))
    repo.commit("b1: feature", date="2024-03-02T09:00:00+00:00")
    repo.git("checkout", "-q", "main")
    repo.write("docs.md", _lines(4))
    repo.commit("m1: docs", date="2024-03-03T09:00:00+00:00")
    repo.git("checkout", "-q", "feature")
    env = {"GIT_AUTHOR_DATE": "2024-03-04T09:00:00+00:00", "GIT_COMMITTER_DATE": "2024-03-04T09:00:00+00:00",
           "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
           "GIT_COMMITTER_EMAIL": "ada@example.com"}
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'main' into feature", "main", env=env)
    repo.write("util.py", _lines(3))
    repo.write("app.py", _lines(13) + "changed 13\nchanged 14\n")
    repo.commit("b3: util", date="2024-03-05T09:00:00+00:00")
    repo.git("checkout", "-q", "main")
    env = {**env, "GIT_AUTHOR_DATE": "2024-03-06T09:00:00+00:00", "GIT_COMMITTER_DATE": "2024-03-06T09:00:00+00:00"}
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #7 from ada/feature\n\nFeature", "feature", env=env)
    merge_sha = repo.git("rev-parse", "HEAD")
    collect_git(con, repo.path, repo_id="acme/web")
    add_pr(con, 7, "ada", "2024-03-02 10:00", repo="acme/web", merged_at="2024-03-06 09:00", additions=60,
           deletions=2, changed_files=3, merge_commit_sha=merge_sha)
    add_pr(con, 8, "ada", "2024-03-02 10:00", repo="acme/web", merged_at="2024-03-06 10:00", additions=30,
           deletions=1, changed_files=2)
    f = {r["number"]: r for r in pr_facts(frames_of(con)).collect().iter_rows(named=True)}
    assert (f[7]["changed_lines"], f[7]["excluded_lines"], f[7]["files_changed"], f[7]["size_source"]) == (
        12, 40, 2, "merge_walk")
    assert (f[8]["changed_lines"], f[8]["size_source"]) == (31, "github_totals")


def test_merge_walk_finds_the_merge_commit_by_its_message(con, make_repo):
    """Without GitHub's merge_commit_sha the merge commit is the one whose message names the PR."""
    from impactlens.collectors.git import collect_git

    repo = make_repo("web")
    repo.write("a.py", _lines(2))
    repo.commit("root", date="2024-03-01T09:00:00+00:00")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("b.py", _lines(6))
    repo.write("package-lock.json", _lines(100))
    repo.commit("topic work", date="2024-03-02T09:00:00+00:00")
    repo.git("checkout", "-q", "main")
    env = {"GIT_AUTHOR_DATE": "2024-03-03T09:00:00+00:00", "GIT_COMMITTER_DATE": "2024-03-03T09:00:00+00:00",
           "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
           "GIT_COMMITTER_EMAIL": "ada@example.com"}
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #3 from x/topic", "topic", env=env)
    collect_git(con, repo.path, repo_id="acme/web")
    add_pr(con, 3, "ada", "2024-03-02 10:00", repo="acme/web", merged_at="2024-03-03 09:00", additions=106,
           deletions=0, changed_files=2)
    row = pr_facts(frames_of(con)).collect().row(0, named=True)
    # 6 lines of b.py; the lockfile's 100 lines are excluded.
    assert (row["changed_lines"], row["excluded_lines"], row["files_changed"], row["size_source"]) == (
        6, 100, 1, "merge_walk")


def test_reverted_prs_are_flagged_and_left_out_of_delivered_work(con):
    """PR 10 (squash a10...) is reverted by PR 11 ('This reverts commit a10a10a'); PR 12 by a direct-push
    commit 'Reverts acme/api#12'; PR 13 by PR 14, which PR 15 reverted in turn (PR 13 landed again: not
    reverted; PR 14 is). PR 16 is untouched. Merged: 10-16 = 7; reverted 10, 12, 14 -> 4 PRs delivered."""
    sha = lambda n: f"{n:x}".rjust(4, "0") * 10  # noqa: E731 (40 hex characters)
    for n in range(10, 17):
        add_pr(con, n, "alice", f"2024-02-{n:02d} 09:00", merged_at=f"2024-02-{n:02d} 10:00")
    add_commit(con, sha(10), "alice@x.com", "2024-02-10 10:00", subject="Feature (#10)", pr_number=10,
               files={"a.py": (10, 0, "code")})
    add_commit(con, sha(11), "alice@x.com", "2024-02-11 10:00", subject='Revert "Feature" (#11)', pr_number=11,
               body=f"This reverts commit {sha(10)[:9]}.", files={"a.py": (0, 10, "code")})
    add_commit(con, sha(12), "alice@x.com", "2024-02-12 10:00", subject="Thing (#12)", pr_number=12)
    add_commit(con, "d" * 40, "alice@x.com", "2024-02-12 11:00", subject='Revert "Thing"', body="Reverts acme/api#12")
    add_commit(con, sha(13), "alice@x.com", "2024-02-13 10:00", subject="Other (#13)", pr_number=13)
    add_commit(con, sha(14), "alice@x.com", "2024-02-14 10:00", subject='Revert "Other" (#14)', pr_number=14,
               body=f"This reverts commit {sha(13)}.")
    add_commit(con, sha(15), "alice@x.com", "2024-02-15 10:00", subject='Revert "Revert "Other"" (#15)',
               pr_number=15, body=f"This reverts commit {sha(14)}.")
    add_commit(con, sha(16), "alice@x.com", "2024-02-16 10:00", subject="Last (#16)", pr_number=16)
    frames = frames_of(con)
    f = {r["number"]: r for r in pr_facts(frames).collect().iter_rows(named=True)}
    assert {n: (f[n]["reverted"], f[n]["reverted_by"]) for n in f} == {
        10: (True, "pr:11"), 11: (False, None), 12: (True, "commit:" + "d" * 40), 13: (False, None),
        14: (True, "pr:15"), 15: (False, None), 16: (False, None)}
    total = throughput(frames, by=None, grain=None).collect().row(0, named=True)
    assert (total["prs_merged"], total["prs_opened"]) == (4, 7)


def test_first_review_can_require_a_submitted_review(org, con):
    """[review] first_response = "review": PR 4's only response was alice's comment (13:00), so it was merged
    without a review; PRs 1 and 3 had reviews (4 h and 66 h). Waits 4, 66: median 35; ended by merge: PRs 4, 5."""
    frames = frames_of(con, review={"first_response": "review"})
    f = {r["number"]: r for r in pr_facts(frames).collect().iter_rows(named=True)}
    assert (f[4]["first_response_kind"], f[4]["merged_unreviewed"], f[4]["time_to_first_review_hours"]) == (
        "merge", True, None)
    assert (f[1]["first_response_kind"], f[3]["first_response_kind"]) == ("review", "review")
    row = time_to_first_review(frames).collect().row(0, named=True)
    assert (row["reviewed_prs"], row["ended_by_merge"], row["median_hours"]) == (2, 2, pytest.approx(35.0))


def test_an_unknown_first_response_mode_is_a_clear_error(org, con):
    from impactlens.errors import ConfigError

    with pytest.raises(ConfigError, match="review.first_response must be one of review_or_comment, review"):
        pr_facts(frames_of(con, review={"first_response": "comments"})).collect()


def test_open_prs_by_age_and_active_people(con):
    from impactlens.metrics import active_people, open_prs_by_age

    add_person(con, "p-ann", logins=("ann",), emails=("ann@x.com",))
    add_person(con, "p-ben", logins=("ben",), emails=("ben@x.com",))
    at = utc("2024-03-01 12:00")
    add_pr(con, 1, "ann", "2024-03-01 00:00")                                  # 12 hours old: < 1 day
    add_pr(con, 2, "ann", "2024-02-27 12:00", is_draft=True)                   # 3.0 days: 3-7 days, draft
    add_pr(con, 3, "ben", "2024-02-20 12:00", merged_at="2024-03-02 09:00")    # merged after `at`: 10 days
    add_pr(con, 4, "ben", "2024-01-01 12:00")                                  # 60 days: > 4 weeks
    add_pr(con, 5, "ben", "2024-02-29 12:00", merged_at="2024-03-01 11:00")    # merged before `at`: not open
    add_pr(con, 6, "ann", "2024-03-01 13:00")                                  # opened after `at`: not open
    add_pr(con, 7, "dependabot[bot]", "2024-02-29 12:00", author_is_bot=True)  # a bot's: left out
    frames = frames_of(con)
    rows = open_prs_by_age(frames, Scope(), at).collect().rows()
    assert rows == [("< 1 day", 0, "ready", 1), ("3–7 days", 2, "draft", 1), ("1–2 weeks", 3, "ready", 1),
                    ("> 4 weeks", 5, "ready", 1)]
    # People active in February: ann opened PR 2, ben opened PR 3 and PR 5 (and merged none); dependabot is a bot.
    assert active_people(frames, Scope(start="2024-02-01", end="2024-03-01")) == 2
    assert active_people(frames, Scope(start="2024-01-02", end="2024-02-01")) == 0
