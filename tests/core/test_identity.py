"""The identity key and the team-at-a-time rule, each written once (impactlens/identity.py,
impactlens/membership.py): the Python, SQL (a real DuckDB) and Polars forms agree on hand-worked cases."""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import polars as pl
import pytest

from impactlens import config as config_mod, people
from impactlens.identity import KINDS, identity_expr, identity_id, identity_sql, split_key
from impactlens.membership import member_on_expr, member_on_sql, overlaps_expr

# (kind, raw value, key worked out by hand: kind, a colon, the value without surrounding spaces, lower case)
CASES = [
    ("email", " Alice@X.com ", "email:alice@x.com"),
    ("email", "", "email:"),
    ("name", "=", "name:="),
    ("github_login", "Dependabot[bot]", "github_login:dependabot[bot]"),
    ("name", "  Dave Jones", "name:dave jones"),  # inner space kept
]


@pytest.mark.parametrize(("kind", "value", "key"), CASES)
def test_python_form(kind, value, key):
    assert identity_id(kind, value) == key


def test_sql_form_agrees_on_a_real_duckdb():
    con = duckdb.connect()
    try:
        for kind, value, key in CASES:
            assert con.execute(f"SELECT {identity_sql('$v', kind=kind)}", {"v": value}).fetchone()[0] == key
        # The kind from a column, as impactlens.people reads its activity.
        got = con.execute(f"SELECT {identity_sql('v', kind_sql='k')} FROM (SELECT $k AS k, $v AS v)",
                          {"k": "email", "v": " Alice@X.com "}).fetchone()[0]
        assert got == "email:alice@x.com"
        assert con.execute(f"SELECT {identity_sql('NULL::VARCHAR', kind='email')}").fetchone()[0] is None
    finally:
        con.close()


def test_polars_form_agrees():
    for kind, value, key in CASES:
        frame = pl.DataFrame({"v": [value, None]}, schema={"v": pl.String})
        assert frame.select(identity_expr(kind, "v"))["literal"].to_list() == [key, None]


def test_a_key_reads_back_into_its_kind_and_value():
    for kind, value, key in CASES:
        assert split_key(key) == (kind, value.strip(" ").lower())
    assert split_key("email:a:b@x.com") == ("email", "a:b@x.com")  # only the first colon separates
    # Person ids are not identity keys: a roster id, an automatic person, a word before a colon that is no kind.
    assert [split_key(k) for k in ("ada", "auto:email:a@x.com", "team:web", "")] == [None, None, None, None]


def test_unknown_kind_and_bad_arguments():
    with pytest.raises(ValueError, match="unknown identity kind 'mail'"):
        identity_id("mail", "x")
    with pytest.raises(ValueError):
        identity_sql("v")
    assert KINDS == people.KINDS and people.identity_id is identity_id  # one rule, re-exported


def test_the_people_area_keys_its_identities_by_the_same_rule(con):
    """A commit author written with spaces and capitals becomes the identity the Python form names."""
    from builders import add_commit

    add_commit(con, "a1", " Alice@X.com ", "2024-03-01 10:00")
    people.refresh(con, config_mod.defaults())
    ids = [r[0] for r in con.sql("SELECT identity_id FROM identities").fetchall()]
    assert ids == [identity_id("email", " Alice@X.com ")] == ["email:alice@x.com"]


# ------------------------------------------------------------------ the team-at-a-time rule

# A membership from 2024-03-01 to 2024-04-01 (exclusive) and an ongoing one from 2024-05-01.
MEMBERSHIPS = [("core", date(2024, 3, 1), date(2024, 4, 1)), ("web", date(2024, 5, 1), None)]
# day -> teams, by hand: the first day is in, the end day is out, an ongoing period has no end.
DAYS = {
    date(2024, 2, 29): [], date(2024, 3, 1): ["core"], date(2024, 3, 31): ["core"], date(2024, 4, 1): [],
    date(2024, 5, 1): ["web"], date(2030, 1, 1): ["web"],
}


def test_membership_rule_sql_and_polars_agree():
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE m (team_id VARCHAR, valid_from DATE, valid_to DATE)")
        con.executemany("INSERT INTO m VALUES (?, ?, ?)", MEMBERSHIPS)
        frame = pl.DataFrame(MEMBERSHIPS, schema={"team_id": pl.String, "valid_from": pl.Date, "valid_to": pl.Date},
                             orient="row")
        for day, teams in DAYS.items():
            sql = [r[0] for r in con.execute(f"SELECT team_id FROM m WHERE {member_on_sql('$d')} ORDER BY 1",
                                             {"d": day}).fetchall()]
            polars = frame.filter(member_on_expr(pl.lit(day)))["team_id"].sort().to_list()
            assert sql == polars == teams, day
    finally:
        con.close()


def test_people_attach_teams_and_frames_with_team_agree(con):
    from impactlens.metrics import load
    from impactlens.metrics.frames import with_team

    con.execute("INSERT INTO people (person_id, display_name, source) VALUES ('ada', 'Ada', 'roster')")
    for team, start, end in MEMBERSHIPS:
        con.execute("INSERT INTO teams (team_id, name) VALUES (?, ?)", [team, team])
        con.execute("INSERT INTO team_memberships (person_id, team_id, valid_from, valid_to) VALUES ('ada', ?, ?, ?)",
                    [team, start, end])
    # Late evening UTC on each day: the UTC date decides.
    times = [datetime(d.year, d.month, d.day, 23, 30, tzinfo=timezone.utc) for d in DAYS]
    rows = pl.DataFrame({"actor_id": ["ada"] * len(times), "at": times})
    sql = people.attach_teams(con, rows, time_col="at", keep_unassigned=False)
    frames = load(con, coded=False)
    polars = with_team(frames, rows.lazy(), "actor_id", "at").collect()
    expected = sorted((t, team) for t, (_, teams) in zip(times, DAYS.items()) for team in teams)
    assert sorted(zip(sql["at"].to_list(), sql["team_id"].to_list())) == expected
    assert sorted(zip(polars["at"].to_list(), polars["team_id"].to_list())) == expected


def test_membership_overlaps_a_period():
    # Periods [start, end) against MEMBERSHIPS, by hand: touching the end day is no overlap; ongoing has no end.
    frame = pl.DataFrame(MEMBERSHIPS, schema={"team_id": pl.String, "valid_from": pl.Date, "valid_to": pl.Date},
                         orient="row")
    cases = {
        (date(2024, 2, 1), date(2024, 3, 1)): [],          # ends the day core starts
        (date(2024, 2, 1), date(2024, 3, 2)): ["core"],
        (date(2024, 4, 1), date(2024, 5, 1)): [],          # between core's end and web's start
        (date(2024, 3, 31), date(2030, 1, 1)): ["core", "web"],
        (date(2031, 1, 1), date(2031, 2, 1)): ["web"],     # ongoing
    }
    for (start, end), teams in cases.items():
        assert frame.filter(overlaps_expr(start, end))["team_id"].sort().to_list() == teams, (start, end)
