"""Review turnaround, depth and breadth, and load balance on a hand-built warehouse.

PR 10 (alice), opened Mon 2024-01-01 09:00:
  review requested from bob 09:00 -> bob requests changes 11:00 (3 inline comments)   cycle 1: 2 h
  bob reviews again 15:00 with no new request                                         not a cycle
  re-requested Tue 10:00 -> bob approves Tue 12:00                                     cycle 2: 2 h
  carol (never requested) comments 13:00 (comment_count 1, no comment rows)            from ready: 4 h
  the AI reviewer and alice herself also review: neither counts
PR 11 (carol), opened Mon 10:00: bob approves 16:00 (no request)                       from ready: 6 h
"""

from __future__ import annotations

import polars as pl
import pytest

from impactlens.metrics import Scope, gini, review_cycles, review_depth, review_load, review_turnaround
from builders import add_comment, add_event, add_member, add_person, add_pr, add_review, frames_of


@pytest.fixture
def org(con):
    add_person(con, "p-alice", logins=("alice",))
    add_person(con, "p-bob", logins=("bob",))
    add_person(con, "p-carol", logins=("carol",))
    add_person(con, "p-dave", logins=("dave",))
    add_person(con, "rabbit", logins=("coderabbitai",), is_bot=True, bot_kind="ai_reviewer")
    for person in ("p-alice", "p-bob", "p-carol", "p-dave"):
        add_member(con, person, "core", "2023-01-01")
    add_member(con, "p-eve", "core", "2023-01-01", "2023-12-01")  # left before January

    add_pr(con, 10, "alice", "2024-01-01 09:00")
    add_event(con, 10, "review_requested", "2024-01-01 09:00", actor="alice", subject="bob")
    first = add_review(con, 10, "bob", "2024-01-01 11:00", state="CHANGES_REQUESTED")
    for minute in ("10:50", "10:55", "10:58"):
        add_comment(con, 10, "bob", f"2024-01-01 {minute}", review_id=first)
    add_review(con, 10, "bob", "2024-01-01 15:00", state="COMMENTED")
    add_event(con, 10, "review_requested", "2024-01-02 10:00", actor="alice", subject="bob")
    add_review(con, 10, "bob", "2024-01-02 12:00", state="APPROVED")
    add_review(con, 10, "carol", "2024-01-01 13:00", state="COMMENTED", comment_count=1)
    add_review(con, 10, "coderabbitai", "2024-01-01 09:01", state="COMMENTED", comment_count=12)
    add_review(con, 10, "alice", "2024-01-01 09:30", state="COMMENTED")

    add_pr(con, 11, "carol", "2024-01-01 10:00")
    add_review(con, 11, "bob", "2024-01-01 16:00", state="APPROVED")
    return frames_of(con)


def test_review_cycles(org):
    cycles = review_cycles(org).collect()
    got = sorted((r["pr_number"], r["reviewer_key"], r["start_kind"], r["turnaround_hours"])
                 for r in cycles.iter_rows(named=True))
    assert got == [
        (10, "p-bob", "request", pytest.approx(2.0)),
        (10, "p-bob", "request", pytest.approx(2.0)),
        (10, "p-carol", "ready", pytest.approx(4.0)),
        (11, "p-bob", "ready", pytest.approx(6.0)),
    ]


def test_review_turnaround_per_reviewer(org):
    rows = {r["person_key"]: r for r in review_turnaround(org).collect().iter_rows(named=True)}
    assert set(rows) == {"p-bob", "p-carol"}
    assert rows["p-bob"]["cycles"] == 3
    assert rows["p-bob"]["median_hours"] == pytest.approx(2.0)
    assert rows["p-bob"]["mean_hours"] == pytest.approx(10 / 3)
    # Mon 09:00-11:00 and Tue 10:00-12:00 and Mon 10:00-16:00 are all inside business hours.
    assert rows["p-bob"]["median_business_hours"] == pytest.approx(2.0)
    assert rows["p-carol"]["median_hours"] == pytest.approx(4.0)


def test_review_depth_and_breadth(org):
    rows = {r["person_key"]: r for r in review_depth(org).collect().iter_rows(named=True)}
    bob = rows["p-bob"]
    # 4 reviews (3 on PR 10, 1 on PR 11); 3 inline comments belong to the first; two authors.
    assert (bob["reviews"], bob["review_comments"], bob["prs_reviewed"], bob["authors_reviewed"]) == (4, 3, 2, 2)
    assert bob["comments_per_review"] == pytest.approx(0.75)
    assert (bob["approvals"], bob["changes_requested"]) == (2, 1)
    # carol's count comes from reviews.comment_count when no comment rows exist.
    assert rows["p-carol"]["review_comments"] == 1
    assert "rabbit" not in rows and "p-alice" not in rows


def test_review_load_balance_and_gini(org):
    shares, teams = review_load(org, grain="month")
    shares = {r["person_key"]: (r["reviews"], r["share"]) for r in shares.collect().iter_rows(named=True)}
    # eve left before January; dave gave no review but counts as a member with a share of 0.
    assert shares == {"p-alice": (0, 0.0), "p-bob": (4, pytest.approx(0.8)), "p-carol": (1, pytest.approx(0.2)),
                      "p-dave": (0, 0.0)}
    team = teams.collect().row(0, named=True)
    # Gini of [0, 0, 1, 4]: sum((2i - n - 1) x_i) / (n * sum) = (1*1 + 3*4) / (4*5) = 0.65.
    assert (team["members"], team["reviews"]) == (4, 5)
    assert team["gini"] == pytest.approx(0.65)
    assert team["top_share"] == pytest.approx(0.8)


def test_gini_extremes():
    df = pl.DataFrame({"g": ["equal"] * 3 + ["one"] * 3 + ["none"] * 2, "x": [2, 2, 2, 0, 0, 9, 0, 0]})
    out = dict(df.group_by("g").agg(gini(pl.col("x")).alias("gini")).iter_rows())
    assert out["equal"] == pytest.approx(0.0)
    assert out["one"] == pytest.approx(2 / 3)  # (n - 1) / n: one of three does everything
    assert out["none"] is None


def test_review_scope_by_person(org):
    only = review_turnaround(org, Scope(person="p-carol")).collect()
    assert only["person_key"].to_list() == ["p-carol"]


def test_bots_not_yet_recorded_are_recognised_by_the_bot_rules(con):
    # No identities at all (the people area has not run) and no row flags: the [bots] rules decide.
    add_pr(con, 1, "alice", "2024-01-01 10:00")
    add_review(con, 1, "renovate[bot]", "2024-01-01 10:10", state="COMMENTED")
    add_review(con, 1, "copilot-pull-request-reviewer[bot]", "2024-01-01 10:20", state="COMMENTED")
    add_review(con, 1, "bob", "2024-01-01 12:00")
    frames = frames_of(con)
    kinds = dict(frames.reviews.select("reviewer_key", "reviewer_bot_kind").collect().iter_rows())
    assert kinds == {"github_login:renovate[bot]": "bot",
                     "github_login:copilot-pull-request-reviewer[bot]": "ai_reviewer",
                     "github_login:bob": None}
    from impactlens.metrics import pr_facts

    assert pr_facts(frames).collect()["time_to_first_review_hours"].to_list() == [pytest.approx(2.0)]
