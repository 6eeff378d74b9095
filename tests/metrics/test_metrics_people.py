"""Mentoring touchpoints, ownership, bus factor and artifacts on a hand-built warehouse.

People (first contribution in the data): peer 2022, sen 2023-01, lvl_a 2020 (level L3), lvl_b 2023 (L5),
jun 2023-12 (five PRs 1-5 in December), new (first PR on 2024-01-20).
January 2024 touchpoints:
  sen reviews jun's PR 6 and PR 7, comments on PR 6 (outside a review), pairs with jun on a commit,
      reviews new's first PR 9 (onboarding)                                    -> 5, mentee: jun (4)
  peer reviews sen's PR 8, sen's first PR in the data (onboarding)           -> 1
  jun reviews sen's PR 8 (a first PR, but jun is the junior)                   -> not a touchpoint
  lvl_b (L5) reviews lvl_a's (L3) 6th PR 16, lvl_a reviews lvl_b's first PR 17: the roster's levels
      win over tenure, and the junior's review of a first PR is not onboarding -> only lvl_b's counts
"""

from __future__ import annotations

import polars as pl
import pytest

from impactlens.metrics import (
    Scope, artifact_summary, artifacts, bus_factor, mentee_touchpoints, mentees, mentoring_summary, ownership,
    touchpoints,
)
from impactlens.metrics.mentoring import experience
from impactlens.metrics import routine_approvals
from builders import add_comment, add_commit, add_member, add_person, add_pr, add_review, frames_of, ts


@pytest.fixture
def org(con):
    for name, level in (("sen", None), ("jun", None), ("new", None), ("peer", None), ("lvl_a", "L3"),
                        ("lvl_b", "L5")):
        add_person(con, f"p-{name}", logins=(name,), emails=(f"{name}@x.com",), level=level)
    add_commit(con, "peer0", "peer@x.com", "2022-05-01 10:00", files={"src/web/y.ts": (30, 0, "code")})
    add_commit(con, "sen0", "sen@x.com", "2023-01-02 10:00", files={
        "src/api/a.py": (50, 10, "code"), "src/api/b.py": (20, 0, "code"), "src/core/c.py": (30, 0, "code"),
        "docs/adr/0001-duckdb.md": (40, 0, "adr", "A"),
    })
    add_commit(con, "lvla0", "lvl_a@x.com", "2020-03-01 10:00")
    add_commit(con, "lvlb0", "lvl_b@x.com", "2023-03-01 10:00")
    for n in range(1, 6):
        add_pr(con, n, "jun", f"2023-12-0{n} 10:00", merged_at=f"2023-12-0{n} 11:00")
        add_pr(con, 10 + n, "lvl_a", f"2020-04-0{n} 10:00", merged_at=f"2020-04-0{n} 11:00")
    add_pr(con, 6, "jun", "2024-01-03 10:00")
    add_review(con, 6, "sen", "2024-01-03 12:00", state="CHANGES_REQUESTED")
    add_comment(con, 6, "sen", "2024-01-03 12:30", kind="issue_comment")
    add_pr(con, 7, "jun", "2024-01-04 10:00")
    add_review(con, 7, "sen", "2024-01-04 12:00", comment_count=2)
    add_commit(con, "pair1", "jun@x.com", "2024-01-09 10:00", coauthors=("SEN@x.com",), files={
        "src/api/a.py": (15, 5, "code"), "src/web/x.ts": (10, 0, "code"), "package-lock.json": (1000, 0, "lockfile"),
        "src/core/d.py": (30, 0, "code"), "docs/adr/0001-duckdb.md": (3, 1, "adr"),
    })
    add_pr(con, 8, "sen", "2024-01-06 10:00")
    add_review(con, 8, "peer", "2024-01-06 11:00")
    add_review(con, 8, "jun", "2024-01-06 12:00")
    add_pr(con, 9, "new", "2024-01-20 10:00")
    add_review(con, 9, "sen", "2024-01-20 11:00", comment_count=1)
    add_pr(con, 16, "lvl_a", "2024-01-10 10:00")
    add_review(con, 16, "lvl_b", "2024-01-10 11:00", comment_count=1)
    add_pr(con, 17, "lvl_b", "2024-01-11 10:00")
    add_review(con, 17, "lvl_a", "2024-01-11 11:00")
    add_commit(con, "peer1", "peer@x.com", "2024-01-07 10:00", files={
        "src/core/e.py": (40, 0, "code"), "ops/runbooks/deploy.md": (25, 0, "runbook", "A"),
    })
    add_commit(con, "bot1", "dependabot[bot]@users.noreply.github.com", "2024-01-08 10:00",
               files={"src/api/a.py": (500, 500, "code")})
    # After the mentoring window: jun merges PR 20 and reviews PR 21 in February.
    add_pr(con, 20, "jun", "2024-02-09 10:00", merged_at="2024-02-10 10:00")
    add_pr(con, 21, "peer", "2024-02-11 10:00")
    add_review(con, 21, "jun", "2024-02-12 10:00")
    return frames_of(con)


JANUARY = Scope(start="2024-01-01", end="2024-02-01")


def test_touchpoints(org):
    got = sorted((r["mentor_key"], r["mentee_key"], r["kind"], r["basis"])
                 for r in JANUARY.window(touchpoints(org), "at").collect().iter_rows(named=True))
    assert got == sorted([
        ("p-sen", "p-jun", "review", "tenure"),
        ("p-sen", "p-jun", "review", "tenure"),
        ("p-sen", "p-jun", "comment", "tenure"),
        ("p-sen", "p-jun", "pairing", "tenure"),
        ("p-sen", "p-new", "onboarding_review", "onboarding"),
        # peer's approval of PR 8 (sen's first PR in the data) is neither onboarding (sen has been around since
        # 2023-01-02, over ONBOARDING_DAYS before) nor substance (an approval with no comment): nothing.
        ("p-lvl_b", "p-lvl_a", "review", "level"),
    ])


def test_mentoring_summary(org):
    rows = {r["person_key"]: r for r in mentoring_summary(org, JANUARY).collect().iter_rows(named=True)}
    sen = rows["p-sen"]
    assert (sen["touchpoints"], sen["reviews"], sen["comments"], sen["onboarding"], sen["pairing_commits"]) == (
        5, 2, 1, 1, 1)
    assert (sen["people_helped"], sen["mentees"]) == (2, 1)
    assert "p-peer" not in rows and "p-jun" not in rows


def test_mentoring_summary_counts_mentees_within_each_period(org):
    """A mentee needs 3 touchpoints over 2 weeks from the same mentor inside the group's period. sen's four
    with jun (Wed Jan 3 review and comment, Thu Jan 4 review: week of Mon Jan 1; Tue Jan 9 pairing: week of
    Jan 8) make jun a mentee over January, but in neither week: 3 touchpoints in one week, then 1."""
    weekly = {(r["period_start"].date().isoformat(), r["person_key"]): (r["touchpoints"], r["people_helped"], r["mentees"])
              for r in mentoring_summary(org, JANUARY, grain="week").collect().iter_rows(named=True)}
    assert weekly == {
        ("2024-01-01", "p-sen"): (3, 1, 0),
        ("2024-01-08", "p-sen"): (1, 1, 0),
        ("2024-01-08", "p-lvl_b"): (1, 1, 0),
        ("2024-01-15", "p-sen"): (1, 1, 0),  # new's first PR 9 on Sat Jan 20
    }
    monthly = mentoring_summary(org, JANUARY, by="person", grain="month").collect()
    assert dict(zip(monthly["person_key"].cast(pl.String), monthly["mentees"])) == {"p-sen": 1, "p-lvl_b": 0}
    # The organisation: 5 + 1 touchpoints, mentees jun, new and lvl_a helped, one of them a mentee.
    whole = mentoring_summary(org, JANUARY, by="org").collect()
    assert whole.select("touchpoints", "people_helped", "mentees").row(0) == (6, 3, 1)


def test_routine_approvals_are_counted_apart(org):
    """January's approvals with no comment: peer's and jun's on PR 8, lvl_a's on PR 17 -> one each."""
    got = {r["person_key"]: r["routine_approvals"] for r in routine_approvals(org, JANUARY).collect().iter_rows(named=True)}
    assert got == {"p-peer": 1, "p-jun": 1, "p-lvl_a": 1}


def test_mentees_and_their_figures_afterwards(org):
    out = mentees(org, "p-sen", "2024-01-01", "2024-02-01").collect()
    assert out["mentee_key"].to_list() == ["p-jun"]
    row = out.row(0, named=True)
    # Before: Dec 1 - Jan 1 (PRs 1-5 merged); after: Feb 1 - Mar 3 (PR 20 merged, one review of PR 21).
    assert (row["touchpoints"], row["prs_merged_before"], row["prs_merged_after"]) == (4, 5, 1)
    assert (row["reviews_given_before"], row["reviews_given_after"]) == (0, 1)
    assert row["median_cycle_time_after_hours"] == pytest.approx(24.0)


def test_the_one_mentee_frame(org):
    """metrics.mentee_touchpoints, which the evidence claims and the dashboard both read: sen's January
    touchpoints per colleague (module docstring). jun: reviews of PRs 6 (Jan 3) and 7 (Jan 4), the comment on
    PR 6 (Jan 3), the pairing commit pair1 (Jan 9): 4 over two ISO weeks, a mentee; PRs 6 and 7 are jun's
    6th and 7th, not onboarding. new: the review of the first PR 9 (Jan 20, onboarding): 1, not a mentee."""
    frame = mentee_touchpoints(org, Scope(person="p-sen", start=JANUARY.start, end=JANUARY.end)).collect()
    assert frame["mentee_key"].to_list() == ["p-jun", "p-new"]  # most touchpoints first
    jun, new = frame.iter_rows(named=True)
    assert (jun["touchpoints"], jun["weeks"], jun["reviews"], jun["comments"], jun["onboarding"],
            jun["pairing_commits"], jun["is_mentee"]) == (4, 2, 2, 1, 0, 1, True)
    assert [p["number"] for p in jun["prs"]] == [6, 7] and [c["sha"] for c in jun["commits"]] == ["pair1"]
    assert (jun["first_at"], jun["last_at"]) == (ts("2024-01-03 12:00"), ts("2024-01-09 10:00"))
    assert (new["touchpoints"], new["weeks"], new["reviews"], new["onboarding"], new["is_mentee"]) == (1, 1, 1, 1, False)
    # metrics.mentees keeps the mentees of the same frame.
    assert mentees(org, "p-sen", JANUARY.start, JANUARY.end).collect()["mentee_key"].to_list() == ["p-jun"]


def test_ownership_and_bus_factor(org):
    rows = {(r["directory"], r["person_key"]): (r["lines"], r["share"])
            for r in ownership(org).collect().iter_rows(named=True)}
    # src/api: sen 60 + 20, jun 20 (the bot's 1000 lines are not counted).
    assert rows[("src/api", "p-sen")] == (80, pytest.approx(0.8))
    assert rows[("src/api", "p-jun")] == (20, pytest.approx(0.2))
    assert ("src/api", "dependabot[bot]@users.noreply.github.com") not in rows
    assert not any(d == "." for d, _ in rows)  # the lockfile at the root is left out
    bus = {r["directory"]: r for r in bus_factor(org).collect().iter_rows(named=True)}
    assert bus["src/api"]["bus_factor"] == 1 and bus["src/api"]["top_person_key"] == "p-sen"
    # src/core: peer 40, sen 30, jun 30 -> 40% is not half, 70% is: two people.
    assert bus["src/core"]["bus_factor"] == 2
    assert bus["src/core"]["contributors"] == 3
    # A person's view keeps whole-directory shares.
    mine = ownership(org, Scope(person="p-jun")).collect()
    assert set(mine["directory"]) == {"src/api", "src/web", "src/core", "docs/adr"}


def test_artifacts(org):
    rows = sorted((r["person_key"], r["path"], r["category"], r["action"])
                  for r in artifacts(org).collect().iter_rows(named=True))
    assert rows == [
        ("p-jun", "docs/adr/0001-duckdb.md", "adr", "edited"),
        ("p-peer", "ops/runbooks/deploy.md", "runbook", "created"),
        ("p-sen", "docs/adr/0001-duckdb.md", "adr", "created"),
    ]
    summary = {(r["person_key"], r["category"]): (r["created"], r["edited"])
               for r in artifact_summary(org).collect().iter_rows(named=True)}
    assert summary[("p-sen", "adr")] == (1, 0)
    january = artifacts(org, JANUARY).collect()
    assert sorted(january["person_key"]) == ["p-jun", "p-peer"]


def test_pairing_counts_once_per_commit_and_person_even_for_a_co_author_with_nothing_else(con):
    """sen (first commit 2020) authors two commits in January 2024:
    p1 co-authored by new, whose only activity in the data is that co-authorship (2024-01-05): the
        co-authored commit is new's first contribution, so new is the less experienced   -> 1 pairing
    p2 co-authored by jun (first commit 2023-03-01, a newcomer within a year) under both of jun's emails (GitHub's squash trailers name the
        noreply address too): one person, one commit                                      -> 1 pairing
    """
    add_person(con, "p-sen", emails=("sen@x.com",))
    add_person(con, "p-new", emails=("new@x.com",))
    add_person(con, "p-jun", emails=("jun@x.com", "jun@users.noreply.github.com"))
    add_commit(con, "s0", "sen@x.com", "2020-01-01 10:00", files={"a.py": (1, 0, "code")})
    add_commit(con, "j0", "jun@x.com", "2023-03-01 10:00", files={"a.py": (1, 0, "code")})
    add_commit(con, "p1", "sen@x.com", "2024-01-05 10:00", coauthors=("new@x.com",), files={"a.py": (1, 0, "code")})
    add_commit(con, "p2", "sen@x.com", "2024-01-06 10:00", coauthors=("jun@x.com", "jun@users.noreply.github.com"),
               files={"a.py": (1, 0, "code")})
    frames = frames_of(con)
    got = sorted((r["mentor_key"], r["mentee_key"], r["kind"], r["basis"], r["ref"])
                 for r in touchpoints(frames).collect().iter_rows(named=True))
    assert got == [("p-sen", "p-jun", "pairing", "tenure", "p2"), ("p-sen", "p-new", "pairing", "tenure", "p1")]
    first = dict(experience(frames).select("person_key", "first_contribution_at").collect().iter_rows())
    assert first["p-new"] == ts("2024-01-05 10:00")
    sen = mentoring_summary(frames).collect().row(0, named=True)
    assert (sen["person_key"], sen["touchpoints"], sen["pairing_commits"], sen["people_helped"]) == ("p-sen", 2, 2, 2)


def test_the_rosters_start_date_counts_for_tenure(con):
    """vet joined in 2015 (roster start_date) but their repositories were collected from 2024: their first
    activity in the data is PR 1 (2024-01-02). hire joined 2023-06-01 (roster) and committed 2023-06-05.
    Experience starts at the earlier of the two: vet 2015-03-01, hire 2023-06-01, so hire is the less
    experienced one:
      hire reviews vet's PRs 1-7: vet's first five PRs, but the reviewer is the less experienced -> nothing
      vet commits with hire as co-author (2024-01-10)                         -> vet pairs with hire (tenure)
    late committed in 2022 before joining the roster in 2024: experience from 2022-01-01 (the earlier).
    """
    add_person(con, "p-vet", logins=("vet",), emails=("vet@x.com",), start_date="2015-03-01")
    add_person(con, "p-hire", logins=("hire",), emails=("hire@x.com",), start_date="2023-06-01")
    add_person(con, "p-late", emails=("late@x.com",), start_date="2024-01-01")
    add_commit(con, "h0", "hire@x.com", "2023-06-05 10:00", files={"a.py": (1, 0, "code")})
    add_commit(con, "l0", "late@x.com", "2022-01-01 10:00", files={"a.py": (1, 0, "code")})
    for n in range(1, 8):
        add_pr(con, n, "vet", f"2024-01-0{n + 1} 10:00")
        add_review(con, n, "hire", f"2024-01-0{n + 1} 11:00")
    add_commit(con, "v1", "vet@x.com", "2024-01-10 10:00", coauthors=("hire@x.com",), files={"a.py": (1, 0, "code")})
    frames = frames_of(con)
    first = dict(experience(frames).select("person_key", "first_contribution_at").collect().iter_rows())
    assert first["p-vet"] == ts("2015-03-01 00:00")
    assert first["p-hire"] == ts("2023-06-01 00:00")
    assert first["p-late"] == ts("2022-01-01 10:00")
    got = [(r["mentor_key"], r["mentee_key"], r["kind"], r["basis"])
           for r in touchpoints(frames).collect().iter_rows(named=True)]
    assert got == [("p-vet", "p-hire", "pairing", "tenure")]


def test_equal_levels_are_peers_and_tenure_decides_only_without_a_level(con):
    """old (L4, first commit 2018) and new (L4, first commit 2024-01-02) are peers: neither is less
    experienced, so only onboarding touchpoints pass between them. none (no level, first commit 2010):
    tenure decides between none and new.
      old reviews new's PRs 11-17: the first five are onboarding, 16 and 17 are peer reviews  -> 5
      new reviews old's PR 26 (old's PRs 21-25 came in 2018: not a first PR)                    -> nothing
      none reviews new's PR 18 (new's 8th PR): none's first contribution is earlier         -> 1 review
    """
    add_person(con, "p-old", logins=("old",), emails=("old@x.com",), level="L4")
    add_person(con, "p-new", logins=("new",), emails=("new@x.com",), level="L4")
    add_person(con, "p-none", logins=("none",), emails=("none@x.com",))
    add_commit(con, "o0", "old@x.com", "2018-01-01 10:00", files={"a.py": (1, 0, "code")})
    add_commit(con, "n0", "new@x.com", "2024-01-02 09:00", files={"a.py": (1, 0, "code")})
    add_commit(con, "x0", "none@x.com", "2010-01-01 09:00", files={"a.py": (1, 0, "code")})
    for n in range(11, 18):
        add_pr(con, n, "new", f"2024-02-{n - 10:02d} 10:00")
        add_review(con, n, "old", f"2024-02-{n - 10:02d} 11:00", comment_count=1)
    add_pr(con, 18, "new", "2024-02-08 10:00")
    add_review(con, 18, "none", "2024-02-08 11:00", comment_count=1)
    for n in range(21, 26):
        add_pr(con, n, "old", f"2018-03-{n - 20:02d} 10:00")
    add_pr(con, 26, "old", "2024-02-10 10:00")
    add_review(con, 26, "new", "2024-02-10 11:00")
    frames = frames_of(con)
    got = sorted((r["mentor_key"], r["mentee_key"], r["kind"], r["basis"], r["ref"])
                 for r in touchpoints(frames).collect().iter_rows(named=True))
    assert got == sorted([("p-old", "p-new", "onboarding_review", "onboarding", str(n)) for n in range(11, 16)]
                         + [("p-none", "p-new", "review", "tenure", "18")])



def test_ownership_and_bus_factor_of_a_team(con):
    """Lines count for the team the author was in at the time of the commit.
    Roster: a and c in core; b in web until 2024-01-04, then core; d in no team.
      a  Jan 2  src/api/a.py 20+10 = 30 (core)      b  Jan 3  src/api/b.py 10 (web)
      b  Jan 5  src/api/b.py 20 (core)              a  Jan 6  src/web/x.ts 5 (core)
      c  Jan 7  src/api/c.py 20 (core)              d  Jan 8  src/api/d.py 100 (no team)
    core, src/api: a 30, b 20, c 20 of 70 -> 3/7, 2/7, 2/7; a's 3/7 is under half, a + b's 5/7 is not: bus
      factor 2. core, src/web: a 5 of 5. web, src/api: b 10 of 10.
    The whole organisation, src/api: d 100 of 180 (0.56): bus factor 1.
    """
    for name in ("a", "b", "c", "d"):
        add_person(con, f"p-{name}", emails=(f"{name}@x.com",))
    add_member(con, "p-a", "core", "2023-01-01")
    add_member(con, "p-c", "core", "2023-01-01")
    add_member(con, "p-b", "web", "2023-01-01", "2024-01-04")
    add_member(con, "p-b", "core", "2024-01-04")
    add_commit(con, "o1", "a@x.com", "2024-01-02 10:00", files={"src/api/a.py": (20, 10, "code")})
    add_commit(con, "o2", "b@x.com", "2024-01-03 10:00", files={"src/api/b.py": (10, 0, "code")})
    add_commit(con, "o3", "b@x.com", "2024-01-05 10:00", files={"src/api/b.py": (20, 0, "code")})
    add_commit(con, "o4", "a@x.com", "2024-01-06 10:00", files={"src/web/x.ts": (5, 0, "code")})
    add_commit(con, "o5", "c@x.com", "2024-01-07 10:00", files={"src/api/c.py": (20, 0, "code")})
    add_commit(con, "o6", "d@x.com", "2024-01-08 10:00", files={"src/api/d.py": (100, 0, "code")})
    frames = frames_of(con)

    def shares(scope):
        return {(r["directory"], r["person_key"]): (r["lines"], r["share"], r["rank"])
                for r in ownership(frames, scope).collect().iter_rows(named=True)}

    assert shares(Scope(team="core")) == {
        ("src/api", "p-a"): (30, pytest.approx(3 / 7), 1), ("src/api", "p-b"): (20, pytest.approx(2 / 7), 2),
        ("src/api", "p-c"): (20, pytest.approx(2 / 7), 3), ("src/web", "p-a"): (5, 1.0, 1)}
    assert shares(Scope(team="web")) == {("src/api", "p-b"): (10, 1.0, 1)}
    assert shares(Scope(team="core", person="p-b")) == {("src/api", "p-b"): (20, pytest.approx(2 / 7), 2)}
    bus = {r["directory"]: (r["contributors"], r["lines"], r["bus_factor"], r["top_person_key"])
           for r in bus_factor(frames, Scope(team="core")).collect().iter_rows(named=True)}
    assert bus == {"src/api": (3, 70, 2, "p-a"), "src/web": (1, 5, 1, "p-a")}
    whole = {r["directory"]: (r["lines"], r["bus_factor"], r["top_person_key"])
             for r in bus_factor(frames).collect().iter_rows(named=True)}
    assert whole["src/api"] == (180, 1, "p-d")


def test_artifacts_renamed_and_deleted(con):
    """How renames and deletions count (git log -M: a pure rename changes 0 lines):
      r1 a adds docs/adr/0001.md                                               -> a created
      r2 b renames it to docs/decisions/0001.md (an artifact already, 0 lines)  -> nothing
      r3 b adds ops/runbooks/old.md                                            -> b created
      r4 a deletes ops/runbooks/old.md                                         -> nothing (not an edit)
      r5 a moves notes/deploy.md (not an artifact) to ops/runbooks/deploy.md    -> a created
      r6 b renames docs/decisions/0001.md to 0001-duckdb.md changing 3 lines    -> b edited
      r7 b changes ops/runbooks/deploy.md                                      -> b edited
    """
    add_person(con, "p-a", emails=("a@x.com",))
    add_person(con, "p-b", emails=("b@x.com",))
    add_commit(con, "r1", "a@x.com", "2024-01-02 10:00", files={"docs/adr/0001.md": (40, 0, "adr", "A")})
    add_commit(con, "r2", "b@x.com", "2024-01-03 10:00",
               files={"docs/decisions/0001.md": (0, 0, "adr", "R", "docs/adr/0001.md")})
    add_commit(con, "r3", "b@x.com", "2024-01-04 10:00", files={"ops/runbooks/old.md": (20, 0, "runbook", "A")})
    add_commit(con, "r4", "a@x.com", "2024-01-05 10:00", files={"ops/runbooks/old.md": (0, 20, "runbook", "D")})
    add_commit(con, "r5", "a@x.com", "2024-01-06 10:00",
               files={"ops/runbooks/deploy.md": (0, 0, "runbook", "R", "notes/deploy.md")})
    add_commit(con, "r6", "b@x.com", "2024-01-07 10:00",
               files={"docs/decisions/0001-duckdb.md": (2, 1, "adr", "R", "docs/decisions/0001.md")})
    add_commit(con, "r7", "b@x.com", "2024-01-08 10:00", files={"ops/runbooks/deploy.md": (3, 0, "runbook", "M")})
    frames = frames_of(con)
    rows = sorted((r["person_key"], r["path"], r["action"], r["sha"])
                  for r in artifacts(frames).collect().iter_rows(named=True))
    assert rows == [
        ("p-a", "docs/adr/0001.md", "created", "r1"),
        ("p-a", "ops/runbooks/deploy.md", "created", "r5"),
        ("p-b", "docs/decisions/0001-duckdb.md", "edited", "r6"),
        ("p-b", "ops/runbooks/deploy.md", "edited", "r7"),
        ("p-b", "ops/runbooks/old.md", "created", "r3"),
    ]
    summary = {(r["person_key"], r["category"]): (r["created"], r["edited"])
               for r in artifact_summary(frames).collect().iter_rows(named=True)}
    assert summary == {("p-a", "adr"): (1, 0), ("p-a", "runbook"): (1, 0), ("p-b", "adr"): (0, 1),
                       ("p-b", "runbook"): (1, 1)}


def test_a_mentee_needs_two_weeks_and_a_newcomer(con):
    """Worked by hand: old (first commit 2019) and vet (first commit 2020) are long-standing peers with no
    levels; vet is 'newer' by tenure, but not a newcomer (2024 is years after vet's start), so their
    co-authored commits and reviews are collaboration. kid starts 2024-01-02: three reviews from old in the
    week of Jan 8 make no mentee (one week); a fourth on Jan 16 (the next week) does."""
    for name in ("old", "vet", "kid"):
        add_person(con, f"p-{name}", logins=(name,), emails=(f"{name}@x.com",))
    add_commit(con, "o0", "old@x.com", "2019-01-01 10:00")
    add_commit(con, "v0", "vet@x.com", "2020-06-01 10:00")
    add_commit(con, "k0", "kid@x.com", "2024-01-02 10:00")
    for n, day in enumerate(("2024-01-08", "2024-01-09", "2024-01-10"), 1):
        add_commit(con, f"co{n}", "vet@x.com", f"{day} 09:00", coauthors=("old@x.com",))
        add_pr(con, n, "vet", f"{day} 10:00")
        add_review(con, n, "old", f"{day} 11:00")
        add_pr(con, 10 + n, "kid", f"{day} 10:00")
        add_review(con, 10 + n, "old", f"{day} 12:00", comment_count=1)
    frames = frames_of(con)
    got = touchpoints(frames).filter(pl.col("mentee_key") == "p-vet").collect()
    # vet's first five PRs get onboarding reviews (onboarding needs no tenure), nothing else
    assert set(got["kind"]) <= {"onboarding_review"}
    one_week = mentees(frames, "p-old", "2024-01-01", "2024-02-01").collect()
    assert "p-kid" not in one_week["mentee_key"].to_list()
    add_pr(con, 14, "kid", "2024-01-16 10:00")
    add_review(con, 14, "old", "2024-01-16 12:00", comment_count=1)
    two_weeks = mentees(frames_of(con), "p-old", "2024-01-01", "2024-02-01").collect()
    assert "p-kid" in two_weeks["mentee_key"].to_list()


def test_a_configured_ladder_orders_levels(con):
    """Without a ladder, "M2" (2) ranks below "IC5" (5); with [people] ladder = IC4 < IC5 < M1 < M2 the manager
    is the more experienced, so the M2's commented review of the IC5's PR is a touchpoint by level."""
    add_person(con, "p-ic", logins=("ic",), emails=("ic@x.com",), level="IC5")
    add_person(con, "p-mgr", logins=("mgr",), emails=("mgr@x.com",), level="M2")
    add_commit(con, "i0", "ic@x.com", "2019-01-01 10:00")
    add_commit(con, "m0", "mgr@x.com", "2019-01-01 10:00")
    add_pr(con, 1, "ic", "2024-01-02 10:00")
    add_review(con, 1, "mgr", "2024-01-02 11:00", comment_count=1)
    add_pr(con, 2, "mgr", "2024-01-03 10:00")
    add_review(con, 2, "ic", "2024-01-03 11:00", comment_count=1)

    def pairs(frames):
        return sorted((r["mentor_key"], r["mentee_key"], r["basis"]) for r in touchpoints(frames).collect().iter_rows(named=True))

    assert pairs(frames_of(con)) == [("p-ic", "p-mgr", "level")]
    assert pairs(frames_of(con, people={"ladder": ["IC4", "IC5", "M1", "M2"]})) == [("p-mgr", "p-ic", "level")]
