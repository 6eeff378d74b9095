"""Incidents: who led and responded, impossible times, and why an incident is tied to a deployment.

Hand-built warehouse (times UTC, 2024). People: p-bob (login bob-stone, email bob@x.com), p-carol (login
carol). Incidents, as an incident export writes them:
  i-at     Tue 2nd 10:00 -> 12:00 (2 h), acknowledged 10:30 (0.5 h); commander '@bob-stone', responders
           '@Bob-Stone' and ' @carol ' (docs/incidents.md: '@login')
  i-name   Tue 2nd 10:00 -> 14:00 (4 h); commander 'Dave Jones' (nobody known by that name), responder '@erin'
           (a login nobody claimed)
  i-blank  Wed 3rd 10:00 -> 11:00 (1 h); commander '  ', responders '' and '  '
  i-bad    Thu 4th 10:00, "resolved" 06:00 and "acknowledged" 09:00 (both before it opened: a bad export);
           commander 'bob@x.com'
  i-ack    Fri 5th 10:00 -> 16:00 (6 h), "acknowledged" 09:30 (before it opened); no commander
"""

from __future__ import annotations

import pytest

from impactlens.attribution import attribute
from impactlens.metrics import incident_facts, incident_summary
from builders import add_commit, add_deployment, add_incident, add_person, frames_of


@pytest.fixture
def incidents(con):
    add_person(con, "p-bob", logins=("bob-stone",), emails=("bob@x.com",))
    add_person(con, "p-carol", logins=("carol",))
    add_incident(con, "i-at", "2024-01-02 10:00", resolved="2024-01-02 12:00", acknowledged="2024-01-02 10:30",
                 commander="@bob-stone", responders=["@Bob-Stone", " @carol "])
    add_incident(con, "i-name", "2024-01-02 10:00", resolved="2024-01-02 14:00", commander="Dave Jones",
                 responders=["@erin"])
    add_incident(con, "i-blank", "2024-01-03 10:00", resolved="2024-01-03 11:00", commander="  ",
                 responders=["", "  "])
    add_incident(con, "i-bad", "2024-01-04 10:00", resolved="2024-01-04 06:00", acknowledged="2024-01-04 09:00",
                 commander="bob@x.com")
    add_incident(con, "i-ack", "2024-01-05 10:00", resolved="2024-01-05 16:00", acknowledged="2024-01-05 09:30")
    return frames_of(con)


def facts_of(frames) -> dict[str, dict]:
    return {r["incident_id"]: r for r in incident_facts(frames).collect().iter_rows(named=True)}


def test_an_at_login_is_the_github_login(incidents):
    rows = facts_of(incidents)
    # '@bob-stone' is the login bob-stone (p-bob), '@Bob-Stone' too (logins ignore case); ' @carol ' is carol.
    assert rows["i-at"]["commander_key"] == "p-bob"
    assert rows["i-at"]["responder_keys"] == ["p-bob", "p-carol"]
    # '@erin' is nobody's yet: its own actor under the key the people area gives it, github_login:erin.
    assert rows["i-name"]["responder_keys"] == ["github_login:erin"]


def test_an_unknown_name_is_keyed_as_a_name_and_a_blank_commander_is_nobody(incidents):
    rows = facts_of(incidents)
    # The people area records 'Dave Jones' as the identity name:dave jones (impactlens/people.py), not a login.
    assert rows["i-name"]["commander_key"] == "name:dave jones"
    # Blank commander and responders: no actor at all.
    assert rows["i-blank"]["commander_key"] is None
    assert rows["i-blank"]["responder_keys"] == []
    assert rows["i-bad"]["commander_key"] == "p-bob"  # an email still resolves


def test_people_who_led_and_responded(incidents):
    people = {r["person_key"]: r for r in incident_summary(incidents, by="person").collect().iter_rows(named=True)}
    # p-bob led i-at (and is not counted again as its responder) and i-bad; carol and erin responded once;
    # Dave Jones led i-name; nobody is counted for i-blank or i-ack.
    assert set(people) == {"p-bob", "p-carol", "name:dave jones", "github_login:erin"}
    assert (people["p-bob"]["incidents"], people["p-bob"]["led"], people["p-bob"]["responded"]) == (2, 2, 0)
    assert (people["p-carol"]["led"], people["p-carol"]["responded"]) == (0, 1)
    assert (people["name:dave jones"]["led"], people["github_login:erin"]["responded"]) == (1, 1)
    # p-bob's MTTR: i-at 2 h; i-bad's impossible time is not averaged (it would make it (2 - 4) / 2 = -1 h).
    assert people["p-bob"]["mttr_mean_hours"] == pytest.approx(2.0)
    assert people["p-bob"]["invalid_times"] == 1
    # MTTR of the incidents led: p-bob's i-at (2 h; i-bad's impossible time left out), Dave Jones's i-name (4 h).
    assert (people["p-bob"]["mttr_led_median_hours"], people["p-bob"]["restored_led"]) == (pytest.approx(2.0), 1)
    assert (people["name:dave jones"]["mttr_led_median_hours"], people["name:dave jones"]["restored_led"]) == (4.0, 1)
    assert (people["p-carol"]["mttr_led_median_hours"], people["p-carol"]["restored_led"]) == (None, 0)


def test_a_time_before_the_opening_is_no_duration(incidents):
    rows = facts_of(incidents)
    # i-bad: resolved 06:00 and acknowledged 09:00, opened 10:00: -4 h and -1 h are not durations.
    assert rows["i-bad"]["time_to_restore_hours"] is None
    assert rows["i-bad"]["time_to_acknowledge_hours"] is None
    assert rows["i-bad"]["invalid_times"] is True and rows["i-bad"]["is_open"] is False
    # i-ack: restored in 6 h (kept), acknowledged half an hour before it opened (no duration).
    assert rows["i-ack"]["time_to_restore_hours"] == pytest.approx(6.0)
    assert rows["i-ack"]["time_to_acknowledge_hours"] is None
    assert rows["i-ack"]["invalid_times"] is True
    assert rows["i-at"]["invalid_times"] is False

    row = incident_summary(incidents).collect().row(0, named=True)
    # 5 incidents, all with a resolution; 2 with an impossible time. i-bad, resolved before it opened, is not
    # restored (i-ack's impossible time is its acknowledgement: its restore stands): 4 restored.
    assert rows["i-bad"]["is_restored"] is False and rows["i-ack"]["is_restored"] is True
    assert (row["incidents"], row["resolved_incidents"], row["invalid_times"]) == (5, 4, 2)
    # Times to restore with a duration: 2, 4, 1 (i-blank), 6 (i-ack) -> mean 13 / 4 = 3.25 h, median (2 + 4) / 2 = 3 h.
    assert row["mttr_mean_hours"] == pytest.approx(3.25)
    assert row["mttr_median_hours"] == pytest.approx(3.0)
    # Times to acknowledge: only i-at's 0.5 h (i-bad's -1 h and i-ack's -0.5 h are not durations).
    assert row["median_time_to_acknowledge_hours"] == pytest.approx(0.5)


NAMED, LATER = "ab" * 20, "cd" * 20


@pytest.fixture
def attributed(con):
    """acme/api deployments d1 Mon 1st 12:00 (of commit NAMED) and d2 Tue 2nd 12:00. Commit LATER was committed
    Mon 1st 15:00 and never deployed by its own sha. The incident import's attribute() writes each incident's
    deployment and reason (docs/incidents.md "Attribution to a deployment"):
      a-named  opened Wed 3rd, its text names NAMED       -> d1, "its text names ..., deployed as ..."
      a-after  opened Wed 3rd, its text names LATER       -> d2, "its text names ...; first production deployment ..."
      a-latest opened Wed 3rd, names nothing               -> d2, "latest successful production deployment ..."
      a-none   opened Sun 31st, before any deployment      -> none, "no successful production deployment ..."
    Then, after the import: a-hand's deployment d1 is set by hand (no reason), and a-late is stored without
    attribution (opened Wed 3rd: the metric's own rule gives the latest deployment before it, d2).
    """
    add_deployment(con, "d1", "2024-01-01 12:00", sha=NAMED)
    add_deployment(con, "d2", "2024-01-02 12:00")
    add_commit(con, NAMED, "ann@x.com", "2024-01-01 09:00")
    add_commit(con, LATER, "ann@x.com", "2024-01-01 15:00")
    for incident_id in ("a-named", "a-after", "a-latest", "a-hand"):
        add_incident(con, incident_id, "2024-01-03 10:00")
    add_incident(con, "a-none", "2023-12-31 10:00")
    con.execute("UPDATE incidents SET cause_sha = ? WHERE incident_id = 'a-named'", [NAMED])
    con.execute("UPDATE incidents SET cause_sha = ? WHERE incident_id = 'a-after'", [LATER])
    attribute(con)
    con.execute("UPDATE incidents SET deployment_id = 'd1', attribution_reason = NULL, attribution_rule = NULL WHERE incident_id = 'a-hand'")
    add_incident(con, "a-late", "2024-01-03 10:00")
    return frames_of(con)


def test_attribution_says_which_rule_chose_the_deployment(attributed):
    rows = facts_of(attributed)
    got = {i: (r["deployment_id"], r["attribution"]) for i, r in rows.items()}
    assert got == {
        "a-named": ("d1", "named_commit"),
        "a-after": ("d2", "named_commit"),
        "a-latest": ("d2", "latest_deployment"),
        "a-none": (None, None),
        "a-hand": ("d1", "recorded"),
        "a-late": ("d2", "latest_deployment"),
    }


def test_attribution_confidence(attributed, con):
    """High: the incident names its cause (a-named, a-after) or its deployment was recorded (a-hand).
    a-latest and a-late opened Wed 3rd 10:00, 22 h after d2 (Tue 12:00) of their own repository: medium
    (within 24 h). a-old opens Fri 5th 10:00, 70 h after d2: low. a-nowhere has no repository: the latest
    deployment of any repository, low. a-none has no deployment: no confidence."""
    add_incident(con, "a-old", "2024-01-05 10:00")
    add_incident(con, "a-nowhere", "2024-01-03 10:00", repo=None)
    attribute(con)
    con.execute("UPDATE incidents SET deployment_id = 'd1', attribution_reason = NULL, attribution_rule = NULL WHERE incident_id = 'a-hand'")
    rows = facts_of(frames_of(con))
    got = {i: (r["deployment_id"], r["attribution_confidence"]) for i, r in rows.items()}
    assert got == {
        "a-named": ("d1", "high"), "a-after": ("d2", "high"), "a-hand": ("d1", "high"),
        "a-latest": ("d2", "medium"), "a-late": ("d2", "medium"), "a-old": ("d2", "low"),
        "a-nowhere": ("d2", "low"), "a-none": (None, None),
    }
