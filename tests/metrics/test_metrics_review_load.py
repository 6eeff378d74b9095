"""Review load balance (docs/metrics.md "Review load balance") on a hand-built organisation.

Teams (roster):
  core: a, b (from 2023), c (2023-01-01 until 2024-01-10, exclusive), and two accounts that are not people:
        ci-bot (a bot) and rabbit (an AI reviewer) listed in the roster by mistake
  web:  d (from 2023)
Reviews (all human reviews except the two bots'):
  PR 1 by d in acme/api, 2024-01-02: a and b review
  PR 2 by a in acme/web, 2024-01-20: b reviews; ci-bot and rabbit review too (never counted)
  February: nobody reviews anything
  PR 3 by a in acme/api, 2024-03-05: b reviews
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from impactlens.metrics import Scope, review_load
from builders import add_member, add_person, add_pr, add_review, frames_of

JAN, FEB, MAR = (datetime(2024, m, 1, tzinfo=timezone.utc) for m in (1, 2, 3))


@pytest.fixture
def org(con):
    for name in ("a", "b", "c", "d"):
        add_person(con, f"p-{name}", logins=(name,))
    add_person(con, "ci-bot", logins=("ci-bot",), is_bot=True, bot_kind="bot")
    add_person(con, "rabbit", logins=("coderabbitai",), is_bot=True, bot_kind="ai_reviewer")
    for person in ("p-a", "p-b", "ci-bot", "rabbit"):
        add_member(con, person, "core", "2023-01-01")
    add_member(con, "p-c", "core", "2023-01-01", "2024-01-10")
    add_member(con, "p-d", "web", "2023-01-01")
    add_pr(con, 1, "d", "2024-01-02 10:00")
    add_review(con, 1, "a", "2024-01-02 11:00")
    add_review(con, 1, "b", "2024-01-02 12:00")
    add_pr(con, 2, "a", "2024-01-20 10:00", repo="acme/web")
    add_review(con, 2, "b", "2024-01-20 11:00", repo="acme/web")
    add_review(con, 2, "ci-bot", "2024-01-20 11:05", repo="acme/web", state="COMMENTED")
    add_review(con, 2, "coderabbitai", "2024-01-20 11:06", repo="acme/web", state="COMMENTED")
    add_pr(con, 3, "a", "2024-03-05 10:00")
    add_review(con, 3, "b", "2024-03-05 11:00")
    return frames_of(con)


def tables(frames, scope=Scope()):
    shares, teams = review_load(frames, scope, grain="month")
    shares = {(r["period_start"], r["team_id"], r["person_key"]): (r["reviews"], r["share"])
              for r in shares.collect().iter_rows(named=True)}
    teams = {(r["period_start"], r["team_id"]): (r["members"], r["reviews"], r["gini"], r["top_share"])
             for r in teams.collect().iter_rows(named=True)}
    return shares, teams


def test_members_are_people_in_the_team_during_the_period_never_bots(org):
    shares, teams = tables(org)
    # January, core: a 1 (PR 1), b 2 (PRs 1 and 2), c 0 (still a member until Jan 10); ci-bot and rabbit are
    # not members. Gini of [0, 1, 2]: ((2-4)*0 + (4-4)*1 + (6-4)*2) / (3 * 3) = 4/9.
    assert shares[(JAN, "core", "p-a")] == (1, pytest.approx(1 / 3))
    assert shares[(JAN, "core", "p-b")] == (2, pytest.approx(2 / 3))
    assert shares[(JAN, "core", "p-c")] == (0, 0.0)
    assert not any(person in ("ci-bot", "rabbit") for _, _, person in shares)
    assert teams[(JAN, "core")] == (3, 3, pytest.approx(4 / 9), pytest.approx(2 / 3))
    # March, core: c has left; a 0, b 1. Gini of [0, 1]: ((2-3)*0 + (4-3)*1) / (2 * 1) = 0.5.
    assert shares[(MAR, "core", "p-a")] == (0, 0.0)
    assert shares[(MAR, "core", "p-b")] == (1, 1.0)
    assert (MAR, "core", "p-c") not in shares
    assert teams[(MAR, "core")] == (2, 1, pytest.approx(0.5), 1.0)


def test_a_team_without_reviews_has_null_shares_and_a_month_without_reviews_has_no_rows(org):
    shares, teams = tables(org)
    # web gave no review in January or March: d counts 0 reviews, but a share of nothing is unknown (null,
    # not NaN), and so are the Gini and the top share.
    assert shares[(JAN, "web", "p-d")] == (0, None)
    assert teams[(JAN, "web")] == (1, 0, None, None)
    assert teams[(MAR, "web")] == (1, 0, None, None)
    # February: nobody reviewed anything in the scope, so there is no row at all.
    assert not any(period == FEB for period, _ in teams)
    assert not any(period == FEB for period, _, _ in shares)
    # The team's own scope gives the same rows as the whole organisation.
    _, web = tables(org, Scope(team="web"))
    assert web == {(JAN, "web"): (1, 0, None, None), (MAR, "web"): (1, 0, None, None)}


def test_the_scope_dates_limit_the_members_too(org):
    # From Jan 15: only b's review of PR 2 counts, and c (left Jan 10) was no longer a member.
    # a 0, b 1 -> shares 0 and 1; Gini of [0, 1] = 0.5.
    shares, teams = tables(org, Scope(team="core", start="2024-01-15", end="2024-02-01"))
    assert shares == {(JAN, "core", "p-a"): (0, 0.0), (JAN, "core", "p-b"): (1, 1.0)}
    assert teams == {(JAN, "core"): (2, 1, pytest.approx(0.5), 1.0)}
    # Up to Jan 10 (exclusive), c was still a member: a 1, b 1, c 0.
    # Gini of [0, 1, 1]: ((2-4)*0 + (4-4)*1 + (6-4)*1) / (3 * 2) = 1/3.
    _, early = tables(org, Scope(team="core", end="2024-01-10"))
    assert early == {(JAN, "core"): (3, 2, pytest.approx(1 / 3), 0.5)}


def test_a_repository_scope_counts_its_reviews_and_keeps_every_member(org):
    shares, teams = tables(org, Scope(repo="acme/web"))
    # Only PR 2 is in acme/web: b 1; a and c count with 0. Gini of [0, 0, 1]: (2*1) / (3*1) = 2/3.
    assert {k: v for k, v in shares.items() if k[1] == "core"} == {
        (JAN, "core", "p-a"): (0, 0.0), (JAN, "core", "p-b"): (1, 1.0), (JAN, "core", "p-c"): (0, 0.0)}
    assert teams[(JAN, "core")] == (3, 1, pytest.approx(2 / 3), 1.0)
    # No review in acme/web in March: no March rows.
    assert set(teams) == {(JAN, "core"), (JAN, "web")}
    # acme/api: January a 1, b 1, c 0 (Gini 1/3, top share 0.5); March b 1 of a and b.
    _, api = tables(org, Scope(repo="acme/api"))
    assert api[(JAN, "core")] == (3, 2, pytest.approx(1 / 3), 0.5)
    assert api[(MAR, "core")] == (2, 1, pytest.approx(0.5), 1.0)


def test_shares_add_up_to_the_reviews_counted(org):
    shares, teams = tables(org)
    for (period, team), (members, reviews, _, _) in teams.items():
        rows = [v for k, v in shares.items() if k[:2] == (period, team)]
        assert len(rows) == members and sum(n for n, _ in rows) == reviews
        if reviews:
            assert sum(s for _, s in rows) == pytest.approx(1.0)


def test_load_balance_is_a_team_figure_not_a_persons(org):
    with pytest.raises(ValueError, match="per team"):
        review_load(org, Scope(person="p-b"))


def test_the_organisation_as_one_group(org):
    from impactlens.metrics import organisation_review_load

    rows = {r["period_start"]: (r["members"], r["reviews"], r["gini"], r["top_share"])
            for r in organisation_review_load(org).collect().iter_rows(named=True)}
    # January: core's a 1, b 2, c 0 and web's d 0: Gini of [0, 0, 1, 2] = (1*1 + 3*2) / (4 * 3) = 7/12,
    # the busiest (b) did 2 of 3. February: no review, no row. March: a 0, b 1, d 0 (c left): Gini of [0, 0, 1]
    # = 2*1 / (3*1) = 2/3, b did all.
    assert set(rows) == {JAN, MAR}
    assert rows[JAN] == (4, 3, pytest.approx(7 / 12), pytest.approx(2 / 3))
    assert rows[MAR] == (3, 1, pytest.approx(2 / 3), 1.0)


def test_someone_in_two_teams_at_once_counts_for_both_teams_but_once_for_the_organisation(org, con):
    from impactlens.metrics import organisation_review_load

    # b joins web on 2024-01-01 while staying in core (two memberships at once). Each team counts b's January
    # reviews (2): web's January is d 0, b 2, Gini of [0, 2] = ((2-3)*0 + (4-3)*2) / (2*2) = 0.5, top share 1.
    add_member(con, "p-b", "web", "2024-01-01")
    frames = frames_of(con)
    shares, teams = tables(frames)
    assert shares[(JAN, "web", "p-b")] == (2, 1.0)
    assert teams[(JAN, "web")] == (2, 2, pytest.approx(0.5), 1.0)
    assert teams[(JAN, "core")] == (3, 3, pytest.approx(4 / 9), pytest.approx(2 / 3))
    # The organisation is one group: b is one member with 2 reviews, not 4 (the three January reviews once
    # each). Members a, b, c, d: Gini of [0, 0, 1, 2] = 7/12, the same as without the second membership.
    rows = {r["period_start"]: (r["members"], r["reviews"], r["gini"], r["top_share"])
            for r in organisation_review_load(frames).collect().iter_rows(named=True)}
    assert rows[JAN] == (4, 3, pytest.approx(7 / 12), pytest.approx(2 / 3))
    assert rows[MAR] == (3, 1, pytest.approx(2 / 3), 1.0)
