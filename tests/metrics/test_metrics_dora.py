"""Incidents, MTTR and DORA's four keys on a hand-built warehouse (repo acme/api, times UTC).

Production deployments: d1 Mon 1st 12:00, d2 Tue 2nd 12:00, d3 Wed 3rd 12:00, d4 Mon 8th 12:00,
d5 Tue 9th 12:00 (a staging deployment and a failed one are ignored).
Changes (PRs, squash-merged):
  PR 1 alice: first commit Sun 31st 10:00, merged Mon 1st 10:00 -> d1: lead time 26 h (not the 2 h of
      its squash commit, whose time is the merge)
  PR 2 bob:   first commit Tue 09:00, merged Tue 11:00 -> d2: 3 h
  PR 3 bob:   'Revert "Add API"', first commit Wed 09:00, merged Wed 10:00 -> d3: 3 h; its commit reverts
      PR 1's squash commit, so d1 (which shipped it) failed
  PR 4 alice: branch hotfix/login, first commit Mon 8th 08:00, merged 10:00 -> d4: 4 h; the hotfix means
      the deployment running then, d3, failed
Incidents:
  i1 acme/api opened Tue 13:00, resolved 15:00 (2 h); no deployment recorded -> the latest before it, d2;
     commander p-bob (a person id)
  i2 acme/api opened Mon 8th 13:00, acknowledged 13:30, still open; recorded deployment d4
  i3 no repository, opened Fri 5th 10:00, resolved 20:00 (10 h); commander carol (a login), responders bob (a login) and
     alice (an email); has a postmortem
"""

from __future__ import annotations

import polars as pl
import pytest

from impactlens.metrics import Scope, changes, deployment_facts, dora, incident_facts, incident_summary
from impactlens.metrics.dora import CHANGE_FAILURE_BANDS, LEAD_TIME_BANDS_HOURS, RESTORE_BANDS_HOURS, _band, deployment_frequency_band
from builders import add_commit, add_deployment, add_incident, add_member, add_person, add_pr, frames_of

SQUASH_1 = "a1" * 20


@pytest.fixture
def org(con):
    add_person(con, "p-alice", logins=("alice",), emails=("alice@x.com",))
    add_person(con, "p-bob", logins=("bob",), emails=("bob@x.com",))
    add_person(con, "p-carol", logins=("carol",))
    add_member(con, "p-alice", "team-a", "2023-01-01")
    add_member(con, "p-bob", "team-b", "2023-01-01")
    for i, day in enumerate(("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-08", "2024-01-09"), start=1):
        add_deployment(con, f"d{i}", f"{day} 12:00")
    add_deployment(con, "staging", "2024-01-02 13:00", is_production=False)
    add_deployment(con, "broken", "2024-01-02 14:00", status="failure")

    add_pr(con, 1, "alice", "2023-12-31 12:00", first_commit_at="2023-12-31 10:00", merged_at="2024-01-01 10:00",
           title="Add API")
    add_commit(con, SQUASH_1, "alice@x.com", "2024-01-01 10:00", pr_number=1, subject="Add API (#1)")
    add_pr(con, 2, "bob", "2024-01-02 09:30", first_commit_at="2024-01-02 09:00", merged_at="2024-01-02 11:00")
    add_pr(con, 3, "bob", "2024-01-03 09:30", first_commit_at="2024-01-03 09:00", merged_at="2024-01-03 10:00",
           title='Revert "Add API"')
    add_commit(con, "b3" * 20, "bob@x.com", "2024-01-03 10:00", pr_number=3, subject='Revert "Add API" (#3)',
               body=f"This reverts commit {SQUASH_1}.")
    add_pr(con, 4, "alice", "2024-01-08 09:00", first_commit_at="2024-01-08 08:00", merged_at="2024-01-08 10:00",
           head_branch="hotfix/login")

    add_incident(con, "i1", "2024-01-02 13:00", resolved="2024-01-02 15:00", commander="p-bob")
    add_incident(con, "i2", "2024-01-08 13:00", acknowledged="2024-01-08 13:30", deployment_id="d4")
    add_incident(con, "i3", "2024-01-05 10:00", resolved="2024-01-05 20:00", repo=None, commander="carol",
                 responders=["bob", "ALICE@x.com"], postmortem_url="https://wiki/pm/3")
    return frames_of(con)


JAN = Scope(start="2024-01-01", end="2024-01-15")


def test_lead_time_uses_the_prs_first_commit(org):
    lead = {r["change_id"]: r["lead_time_hours"] for r in changes(org).collect().iter_rows(named=True)}
    assert lead == {"pr:1": pytest.approx(26.0), "pr:2": pytest.approx(3.0), "pr:3": pytest.approx(3.0),
                    "pr:4": pytest.approx(4.0)}


def test_failed_deployments_and_their_reasons(org):
    rows = {r["deployment_id"]: r for r in deployment_facts(org).collect().iter_rows(named=True)}
    assert set(rows) == {"d1", "d2", "d3", "d4", "d5"}
    assert rows["d1"]["failure_reasons"] == ["revert"]
    assert rows["d2"]["failure_reasons"] == ["incident"]
    assert rows["d3"]["failure_reasons"] == ["hotfix"]
    assert rows["d4"]["failure_reasons"] == ["incident"]
    assert rows["d5"]["failed"] is False and rows["d5"]["changes"] == 0


def test_incident_facts(org):
    rows = {r["incident_id"]: r for r in incident_facts(org).collect().iter_rows(named=True)}
    assert (rows["i1"]["deployment_id"], rows["i1"]["attribution"]) == ("d2", "latest_deployment")
    assert (rows["i2"]["deployment_id"], rows["i2"]["attribution"]) == ("d4", "recorded")
    assert rows["i2"]["is_open"] is True and rows["i2"]["time_to_restore_hours"] is None
    assert rows["i2"]["time_to_acknowledge_hours"] == pytest.approx(0.5)
    assert rows["i1"]["commander_key"] == "p-bob"
    assert rows["i3"]["commander_key"] == "p-carol"
    assert rows["i3"]["responder_keys"] == ["p-alice", "p-bob"]
    assert rows["i3"]["attribution"] is None


def test_incident_summary_and_roles(org):
    row = incident_summary(org).collect().row(0, named=True)
    assert (row["incidents"], row["open_incidents"], row["resolved_incidents"], row["with_postmortem"]) == (3, 1, 2, 1)
    # Resolved: 2 h and 10 h. The open incident is counted, not averaged.
    assert row["mttr_mean_hours"] == pytest.approx(6.0)
    assert row["mttr_median_hours"] == pytest.approx(6.0)
    assert row["median_time_to_acknowledge_hours"] == pytest.approx(0.5)
    people = {r["person_key"]: r for r in incident_summary(org, by="person").collect().iter_rows(named=True)}
    assert (people["p-bob"]["led"], people["p-bob"]["responded"]) == (1, 1)
    assert (people["p-carol"]["led"], people["p-carol"]["responded"]) == (1, 0)
    assert (people["p-alice"]["led"], people["p-alice"]["responded"]) == (0, 1)
    assert people["p-bob"]["mttr_mean_hours"] == pytest.approx(6.0)


def test_dora_per_repository(org):
    row = dora(org, JAN, by="repo", grain=None).collect().row(0, named=True)
    assert row["repo_id"] == "acme/api"
    # 5 deployments on 5 days; weeks of Jan 1 and Jan 8 had 3 and 2 deployment days: median 2.5.
    assert (row["deployments"], row["deploy_days"]) == (5, 5)
    assert row["median_deploy_days_per_week"] == pytest.approx(2.5)
    assert row["deployment_frequency_band"] == "high"
    # Lead times 26, 3, 3, 4 -> median 3.5 h: elite (under a day).
    assert row["changes_deployed"] == 4
    assert row["lead_time_median_hours"] == pytest.approx(3.5)
    assert row["lead_time_band"] == "elite"
    # 4 of 5 deployments failed.
    assert row["failed_deployments"] == 4
    assert row["change_failure_rate"] == pytest.approx(0.8)
    assert row["change_failure_band"] == "low"
    # Repository incidents i1 (2 h) and i2 (open): time to restore is the incident's duration, with no band.
    assert (row["incidents"], row["restored_incidents"]) == (2, 1)
    assert row["time_to_restore_median_hours"] == pytest.approx(2.0)
    assert "time_to_restore_band" not in row
    # Failed deployment recovery time, from each failed deployment to its fix: d1 (Mon 1st 12:00) was
    # fixed by the revert PR 3 shipped in d3 (Wed 3rd 12:00): 48 h; d2 (Tue 12:00) by i1's resolution (Tue
    # 15:00): 3 h; d3 by the hotfix PR 4 shipped in d4 (Mon 8th 12:00): 120 h; d4 not yet (i2 is open).
    # Median of 3, 48, 120 = 48 h: medium (one day to one week, 2023).
    assert row["recovered_deployments"] == 3
    assert row["failed_deployment_recovery_median_hours"] == pytest.approx(48.0)
    assert row["failed_deployment_recovery_band"] == "medium"
    # Rework: d3 shipped the revert PR 3, d4 the hotfix PR 4: 2 of 5 deployments.
    assert (row["rework_deployments"], row["rework_rate"]) == (2, pytest.approx(0.4))
    # 5 deployments over the weeks of Jan 1 and Jan 8: 2.5 a week, not more than one a working day.
    assert row["deployments_per_week"] == pytest.approx(2.5)


def test_dora_per_team_and_for_the_organisation(org):
    teams = {r["team_id"]: r for r in dora(org, JAN, by="team", grain=None).collect().iter_rows(named=True)}
    a, b = teams["team-a"], teams["team-b"]
    # team-a shipped PR 1 (d1) and PR 4 (d4): lead times 26 and 4; both deployments failed; i2 is open.
    assert (a["deployments"], a["failed_deployments"], a["incidents"], a["restored_incidents"]) == (2, 2, 1, 0)
    assert a["lead_time_median_hours"] == pytest.approx(15.0)
    assert a["time_to_restore_median_hours"] is None
    # d1 recovered after 48 h, d4 not yet.
    assert (a["recovered_deployments"], a["failed_deployment_recovery_median_hours"]) == (1, pytest.approx(48.0))
    # team-b shipped PR 2 (d2) and PR 3 (d3); i1 (2 h) is attributed to d2.
    assert (b["deployments"], b["failed_deployments"], b["incidents"]) == (2, 2, 1)
    assert b["time_to_restore_median_hours"] == pytest.approx(2.0)
    org_row = dora(org, JAN, by=None, grain=None).collect().row(0, named=True)
    # All three incidents, i3 included: restored 2 h and 10 h.
    assert org_row["incidents"] == 3
    assert org_row["time_to_restore_median_hours"] == pytest.approx(6.0)
    assert org_row["time_to_restore_mean_hours"] == pytest.approx(6.0)


def test_dora_monthly_grain(org):
    monthly = dora(org, by="repo", grain="month").collect()
    assert monthly.height == 1  # everything deployed in January 2024
    assert monthly["deployments"].to_list() == [5]


@pytest.mark.parametrize(("value", "bands", "inclusive", "expected"), [
    (23.9, LEAD_TIME_BANDS_HOURS, False, "elite"), (24.0, LEAD_TIME_BANDS_HOURS, False, "high"),
    (167.0, LEAD_TIME_BANDS_HOURS, False, "high"), (168.0, LEAD_TIME_BANDS_HOURS, False, "medium"),
    (720.0, LEAD_TIME_BANDS_HOURS, False, "low"),
    (0.05, CHANGE_FAILURE_BANDS, True, "elite"), (0.06, CHANGE_FAILURE_BANDS, True, "high"),
    (0.15, CHANGE_FAILURE_BANDS, True, "medium"), (0.16, CHANGE_FAILURE_BANDS, True, "low"),
    (0.5, RESTORE_BANDS_HOURS, False, "elite"), (1.0, RESTORE_BANDS_HOURS, False, "high"),
    (24.0, RESTORE_BANDS_HOURS, False, "medium"), (168.0, RESTORE_BANDS_HOURS, False, "low"),
])
def test_2023_band_thresholds(value, bands, inclusive, expected):
    out = pl.select(_band(pl.lit(value), bands, inclusive=inclusive)).item()
    assert out == expected


@pytest.mark.parametrize(("weekly", "monthly", "per_week", "expected"), [
    # Once every working day is "between once per day and once per week": high, not elite.
    (5.0, 20.0, 5.0, "high"),
    # More than one deployment per working day (multiple deploys per day): elite ("on demand").
    (5.0, 20.0, 12.0, "elite"), (3.0, 12.0, 6.0, "elite"),
    # Many deployments in one burst, then none for weeks: the median week has no deployment day.
    (0.0, 1.0, 30.0, "medium"),
    (4.5, 18.0, 4.5, "high"), (1.0, 4.0, 1.0, "high"), (0.0, 2.0, 0.5, "medium"), (0.0, 0.5, 0.1, "low"),
])
def test_deployment_frequency_bands(weekly, monthly, per_week, expected):
    assert pl.select(deployment_frequency_band(pl.lit(weekly), pl.lit(monthly), pl.lit(per_week))).item() == expected


def test_dora_on_an_empty_warehouse(con):
    row = dora(frames_of(con), by=None, grain=None).collect()
    assert row["deployments"].to_list() == [0]
    assert row["deployment_frequency_band"].to_list() == [None]
    assert row["lead_time_band"].to_list() == [None]


def test_without_a_scope_the_weeks_end_with_the_last_deployments_week(org):
    row = dora(org, by=None, grain=None).collect().row(0, named=True)
    # Deployments from Mon Jan 1 to Tue Jan 9: the weeks of Jan 1 (3 days) and Jan 8 (2 days), no empty week
    # after the last deployment: median 2.5 (with an empty third week it would be 2).
    assert row["median_deploy_days_per_week"] == pytest.approx(2.5)


@pytest.fixture
def weekdays(con):
    """acme/api deploys at 12:00 on every weekday of the weeks of Mon Jan 29 (Jan 29, 30, 31, Feb 1, 2), Mon Feb 5
    (5-9) and Mon Feb 12 (12-16) 2024, and never after. February 1st is a Thursday."""
    days = ["2024-01-29", "2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02",
            *(f"2024-02-{d:02d}" for d in (5, 6, 7, 8, 9, 12, 13, 14, 15, 16))]
    for n, day in enumerate(days):
        add_deployment(con, f"w{n}", f"{day} 12:00")
    return frames_of(con)


def test_a_months_weeks_are_those_whose_monday_falls_in_it(weekdays):
    rows = {r["period_start"].month: r for r in dora(weekdays, by=None, grain="month").collect().iter_rows(named=True)}
    jan, feb = rows[1], rows[2]
    # January: Mondays 1, 8, 15, 22, 29. The week of Jan 29 counts whole (its Feb 1 and 2 too): 0, 0, 0, 0, 5
    # deployment days -> median 0; 3 deployment days in the month (>= 1 a month): medium.
    assert (jan["deployments"], jan["deploy_days"]) == (3, 3)
    assert jan["median_deploy_days_per_week"] == pytest.approx(0.0)
    assert jan["deployment_frequency_band"] == "medium"
    # February: Mondays 5, 12, 19, 26 -> 5, 5, 0, 0 days: median 2.5 (high). Counting the week of Jan 29 again
    # with its 2 February days would give 2, 5, 5, 0, 0 -> 2.
    assert (feb["deployments"], feb["deploy_days"]) == (12, 12)
    assert feb["median_deploy_days_per_week"] == pytest.approx(2.5)
    assert feb["deployment_frequency_band"] == "high"


def test_a_scopes_weeks_and_a_scope_with_no_monday(weekdays):
    # Wed Jan 31 to Wed Feb 14: Mondays Feb 5 and 12. Deployments in the scope by week: Feb 5-9 (5 days),
    # Feb 12-13 (2 days): median 3.5. Jan 31 - Feb 2 count as deployment days (3 + 5 + 2 = 10) but in no week.
    row = dora(weekdays, Scope(start="2024-01-31", end="2024-02-14"), by=None, grain=None).collect().row(0, named=True)
    assert row["deploy_days"] == 10
    assert row["median_deploy_days_per_week"] == pytest.approx(3.5)
    # Wed Jan 31 to Fri Feb 2 00:00 holds no Monday: its one week is the week holding it (of Jan 29), with the
    # scope's 2 deployment days (Jan 31, Feb 1): median 2.
    row = dora(weekdays, Scope(start="2024-01-31", end="2024-02-02"), by=None, grain=None).collect().row(0, named=True)
    assert row["deploy_days"] == 2
    assert row["median_deploy_days_per_week"] == pytest.approx(2.0)
    assert row["deployment_frequency_band"] == "high"


def test_per_repository_within_a_teams_scope(con):
    """alice (team-a) ships PR 1 of acme/api (deployed Jan 2) and PR 1 of acme/web (deployed Jan 3)."""
    add_person(con, "p-alice", logins=("alice",))
    add_member(con, "p-alice", "team-a", "2023-01-01")
    add_deployment(con, "d1", "2024-01-02 12:00", repo="acme/api")
    add_deployment(con, "d2", "2024-01-03 12:00", repo="acme/web")
    add_pr(con, 1, "alice", "2024-01-02 09:00", merged_at="2024-01-02 10:00", repo="acme/api")
    add_pr(con, 1, "alice", "2024-01-03 09:00", merged_at="2024-01-03 10:00", repo="acme/web")
    out = dora(frames_of(con), Scope(team="team-a"), by="repo", grain="month").collect()
    # One row per repository: each had 1 deployment and 1 change in January.
    assert out.select("repo_id", "deployments", "changes_deployed").rows() == [("acme/api", 1, 1), ("acme/web", 1, 1)]


A, M, B, C = "aa" * 20, "ee" * 20, "bb" * 20, "cc" * 20


@pytest.fixture
def reverts(con):
    """acme/api, deployments at 12:00 on each day named. Merge-commit workflow first:
      PR 1 'Add API': branch commit A written Mon Jan 1 10:00, merged (merge commit M) Wed Jan 3 10:00.
         d1 Tue Jan 2 (before the merge: cannot have shipped A), d2 Wed Jan 3 (ships PR 1).
      PR 2 'Revert "Add API"' merged Fri Jan 5 10:00, commit B "This reverts commit A." -> d3 Fri Jan 5.
      PR 3 'Revert "Revert "Add API""' merged Sun Jan 7 10:00, commit C "This reverts commit B." (re-applies
         A) -> d4 Sun Jan 7.
    Squash merges (the squash commit's body is the PR's body, where GitHub writes 'Reverts owner/repo#N'):
      PR 5 merged Wed Jan 10 -> d5 Wed Jan 10.
      PR 6 'Revert "Feature"' merged Thu Jan 11, body 'Reverts acme/api#5' -> d6 Thu Jan 11.
      PR 7 merged Fri Jan 12 -> d7 Fri Jan 12.
      PR 8 merged Sat Jan 13 10:00, body 'Reverts acme/api#6' (re-applies PR 5); PR 9 merged 11:00, body
         'Reverts other/lib#7' (another repository's PR 7) -> d8 Sat Jan 13.
      PR 10 merged Sun Jan 14 -> d9 Sun Jan 14.
      PR 11 merged Mon Jan 15, body 'Reverts #10' -> d10 Mon Jan 15.
    """
    for n, day in enumerate(("02", "03", "05", "07", "10", "11", "12", "13", "14", "15"), start=1):
        add_deployment(con, f"d{n}", f"2024-01-{day} 12:00")
    add_pr(con, 1, "alice", "2024-01-01 09:00", first_commit_at="2024-01-01 10:00", merged_at="2024-01-03 10:00",
           title="Add API")
    add_commit(con, A, "alice@x.com", "2024-01-01 10:00", subject="Add API", pr_number=1)
    add_commit(con, M, "alice@x.com", "2024-01-03 10:00", subject="Merge pull request #1 from x/api", is_merge=True,
               pr_number=1)
    add_pr(con, 2, "bob", "2024-01-05 09:00", merged_at="2024-01-05 10:00", title='Revert "Add API"')
    add_commit(con, B, "bob@x.com", "2024-01-05 10:00", subject='Revert "Add API"', body=f"This reverts commit {A}.",
               pr_number=2)
    add_pr(con, 3, "bob", "2024-01-07 09:00", merged_at="2024-01-07 10:00", title='Revert "Revert "Add API""')
    add_commit(con, C, "bob@x.com", "2024-01-07 10:00", subject='Revert "Revert "Add API""',
               body=f"This reverts commit {B}.", pr_number=3)
    squashes = [(5, "2024-01-10 10:00", "Feature", ""),
                (6, "2024-01-11 10:00", 'Revert "Feature"', "Reverts acme/api#5"),
                (7, "2024-01-12 10:00", "Other work", ""),
                (8, "2024-01-13 10:00", 'Revert "Revert "Feature""', "Reverts acme/api#6"),
                (9, "2024-01-13 11:00", "Undo the lib bump", "Reverts other/lib#7"),
                (10, "2024-01-14 10:00", "More work", ""),
                (11, "2024-01-15 10:00", "Undo more work", "Reverts #10")]
    for number, merged, title, body in squashes:
        add_pr(con, number, "carol", merged, merged_at=merged, title=title)
        add_commit(con, f"{number:02d}" * 20, "carol@x.com", merged, subject=f"{title} (#{number})", body=body,
                   pr_number=number)
    return frames_of(con)


def test_reverts_blame_the_deployment_that_shipped_the_reverted_change(reverts):
    got = {r["deployment_id"]: r["failure_reasons"] for r in deployment_facts(reverts).collect().iter_rows(named=True)}
    # A landed with PR 1's merge (Jan 3 10:00), so d2 shipped it, not d1 (the day A was written).
    # C reverts the revert B: re-applying a change is no failure, so d3 (which shipped B) did not fail.
    # 'Reverts acme/api#5' in PR 6's squash commit: d5 failed; 'Reverts acme/api#6' re-applies PR 5: d6 did not.
    # PR 9 reverts another repository's PR 7, not this repository's: d7 did not fail.
    # 'Reverts #10' names this repository's PR 10: d9 failed.
    assert got == {"d1": [], "d2": ["revert"], "d3": [], "d4": [], "d5": ["revert"], "d6": [], "d7": [], "d8": [],
                   "d9": ["revert"], "d10": []}


def test_zero_deployments_in_a_period_is_low_frequency_and_no_data_is_null(con, org):
    # An incident of acme/api in March (no deployment in March) and one of acme/web (never deployed).
    add_incident(con, "i-mar", "2024-03-04 10:00", resolved="2024-03-04 11:00")
    add_incident(con, "i-web", "2024-01-03 10:00", resolved="2024-01-03 11:00", repo="acme/web")
    frames = frames_of(con)
    monthly = {(r["repo_id"], r["period_start"].month): r
               for r in dora(frames, by="repo", grain="month").collect().iter_rows(named=True)}
    march = monthly[("acme/api", 3)]
    # March's weeks (Mondays 4, 11, 18, 25) had no deployment day: median 0, low; no deployment: no failure rate.
    assert (march["deployments"], march["incidents"]) == (0, 1)
    assert march["median_deploy_days_per_week"] == pytest.approx(0.0)
    assert march["deployment_frequency_band"] == "low"
    assert march["change_failure_rate"] is None and march["change_failure_band"] is None
    # acme/web has no deployment data at all: its frequency is unknown, not low.
    web = monthly[("acme/web", 1)]
    assert web["median_deploy_days_per_week"] is None and web["deployment_frequency_band"] is None
    # The organisation in a scope without deployments (March 2024): 0 of 4 weeks -> low; failure rate null.
    row = dora(frames, Scope(start="2024-03-01", end="2024-04-01"), by=None, grain=None).collect().row(0, named=True)
    assert row["deployments"] == 0 and row["median_deploy_days_per_week"] == pytest.approx(0.0)
    assert row["deployment_frequency_band"] == "low"
    assert row["change_failure_rate"] is None and row["change_failure_band"] is None


def test_an_empty_warehouse_has_no_frequency_with_or_without_a_scope(con):
    frames = frames_of(con)
    for scope in (Scope(), Scope(start="2024-01-01", end="2024-02-01")):
        row = dora(frames, scope, by=None, grain=None).collect().row(0, named=True)
        assert row["deployments"] == 0
        assert row["median_deploy_days_per_week"] is None and row["deployment_frequency_band"] is None
        assert row["change_failure_rate"] is None and row["change_failure_band"] is None


def test_load_reads_utc_whatever_the_sessions_timezone(db_path):
    """A warehouse written as usual, read through a plain duckdb connection whose TimeZone is Los Angeles."""
    import duckdb

    from impactlens import warehouse
    from impactlens.metrics import load, pr_facts

    con = warehouse.open_for_write(db_path)
    add_deployment(con, "d1", "2024-01-02 12:00")
    add_pr(con, 1, "alice", "2024-01-02 09:00", first_commit_at="2024-01-02 08:00", merged_at="2024-01-02 10:00")
    add_incident(con, "i1", "2024-01-02 13:00", resolved="2024-01-02 15:00")
    con.close()
    raw = duckdb.connect(str(db_path))
    raw.execute("SET TimeZone = 'America/Los_Angeles'")
    try:
        frames = load(raw)
        facts = pr_facts(frames).collect()
        assert facts.schema["deployed_at"] == pl.Datetime("us", "UTC")
        # PR 1 merged 10:00 UTC, deployed by d1 at 12:00 UTC (04:00 in Los Angeles: the same instant).
        assert facts["deployed_at"].dt.strftime("%Y-%m-%d %H:%M").to_list() == ["2024-01-02 12:00"]
        row = dora(frames, by=None, grain="month").collect().row(0, named=True)
        # January 2024 in UTC; lead time 08:00 -> 12:00 = 4 h; incident 13:00 -> 15:00 = 2 h.
        assert row["period_start"].isoformat() == "2024-01-01T00:00:00+00:00"
        assert row["lead_time_median_hours"] == pytest.approx(4.0)
        assert row["time_to_restore_median_hours"] == pytest.approx(2.0)
        # The session keeps its own timezone.
        assert raw.sql("SELECT current_setting('TimeZone')").fetchall() == [("America/Los_Angeles",)]
    finally:
        raw.close()


def test_hotfixes_by_title_branch_or_label(con):
    """acme/api deploys at 12:00 on Mon Jan 1 (d1) to Fri Jan 5 (d5). PRs merged at 10:00, each while the
    previous day's deployment was running:
      PR 1 Tue  label 'type: hotfix'                        -> d1 failed
      PR 2 Wed  branch 'hotfix/login'                       -> d2 failed
      PR 3 Thu  title 'Docs: describe the hotfix process'   (mentions hotfixes, is not one)
      PR 4 Fri  title 'Hotfix: null session'                -> d4 failed
    (patterns.is_hotfix_pr, docs/metrics.md "DORA four keys")."""
    for n, day in enumerate(("01", "02", "03", "04", "05"), start=1):
        add_deployment(con, f"d{n}", f"2024-01-{day} 12:00")
    add_pr(con, 1, "ann", "2024-01-02 09:00", merged_at="2024-01-02 10:00", labels=["type: hotfix"])
    add_pr(con, 2, "ann", "2024-01-03 09:00", merged_at="2024-01-03 10:00", head_branch="hotfix/login")
    add_pr(con, 3, "ann", "2024-01-04 09:00", merged_at="2024-01-04 10:00", title="Docs: describe the hotfix process")
    add_pr(con, 4, "ann", "2024-01-05 09:00", merged_at="2024-01-05 10:00", title="Hotfix: null session")
    got = {r["deployment_id"]: r["failure_reasons"] for r in deployment_facts(frames_of(con)).collect().iter_rows(named=True)}
    assert got == {"d1": ["hotfix"], "d2": ["hotfix"], "d3": [], "d4": ["hotfix"], "d5": []}


def _git_env(at: str) -> dict[str, str]:
    return {"GIT_AUTHOR_DATE": at, "GIT_COMMITTER_DATE": at, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@x.com",
            "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@x.com"}


def test_deployments_contain_what_their_sha_reaches_and_direct_pushes_are_changes(con, make_repo):
    """A merge-commit repository with a direct push, deployed out of time order (a real git history).

    main: c0 (Mar 1 09:00) -> M1 "Merge pull request #1" (Mar 2 12:00; branch b1 Mar 2 09:00) -> p1
    "hotfix: null check" pushed straight to main (Mar 3 10:00) -> M2 "Merge pull request #2" (Mar 4 12:00;
    branch b2 Mar 3 11:00). Deployments: dA Mar 2 13:00 at M1; dB Mar 4 13:00 at p1 (built before M2 landed,
    finished after); dC Mar 5 09:00 at M2.
    By the graph: dA = {c0, b1, M1}; dB = {p1}; dC = {b2, M2}. By time, PR 2 (merged Mar 4 12:00) would be
    dB's (13:00), which does not contain it. Direct pushes: c0 and p1 (on first-parent history, in no PR).
    Lead times: c0 Mar 1 09:00 -> dA Mar 2 13:00 = 28 h; PR 1 first commit Mar 2 09:00 -> dA = 4 h; p1 Mar 3
    10:00 -> dB Mar 4 13:00 = 27 h; PR 2 first commit Mar 3 11:00 -> dC Mar 5 09:00 = 46 h.
    """
    from impactlens.collectors.git import collect_git

    repo = make_repo("svc")
    repo.write("a.py", "a\n")
    c0 = repo.commit("c0", date="2024-03-01T09:00:00+00:00")
    repo.git("checkout", "-q", "-b", "one")
    repo.write("b.py", "b\n")
    repo.commit("b1", date="2024-03-02T09:00:00+00:00")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #1 from ada/one", "one",
             env=_git_env("2024-03-02T12:00:00+00:00"))
    m1 = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "two")
    repo.write("c.py", "c\n")
    repo.commit("b2", date="2024-03-03T11:00:00+00:00")
    repo.git("checkout", "-q", "main")
    repo.write("a.py", "a2\n")
    p1 = repo.commit("hotfix: null check", date="2024-03-03T10:00:00+00:00")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #2 from ada/two", "two",
             env=_git_env("2024-03-04T12:00:00+00:00"))
    m2 = repo.git("rev-parse", "HEAD")
    collect_git(con, repo.path, repo_id="acme/svc")
    add_pr(con, 1, "ada", "2024-03-02 10:00", repo="acme/svc", first_commit_at="2024-03-02 09:00",
           merged_at="2024-03-02 12:00")
    add_pr(con, 2, "ada", "2024-03-03 12:00", repo="acme/svc", first_commit_at="2024-03-03 11:00",
           merged_at="2024-03-04 12:00")
    add_deployment(con, "dA", "2024-03-02 13:00", repo="acme/svc", sha=m1)
    add_deployment(con, "dB", "2024-03-04 13:00", repo="acme/svc", sha=p1)
    add_deployment(con, "dC", "2024-03-05 09:00", repo="acme/svc", sha=m2)
    frames = frames_of(con)
    got = {r["change_id"]: (r["deployment_id"], r["lead_time_hours"], r["is_rework"])
           for r in changes(frames).collect().iter_rows(named=True)}
    assert got == {
        f"commit:{c0}": ("dA", pytest.approx(28.0), False), "pr:1": ("dA", pytest.approx(4.0), False),
        f"commit:{p1}": ("dB", pytest.approx(27.0), True), "pr:2": ("dC", pytest.approx(46.0), False),
    }
    rows = {r["deployment_id"]: r for r in deployment_facts(frames).collect().iter_rows(named=True)}
    assert {d: (r["changes"], r["rework"]) for d, r in rows.items()} == {"dA": (2, False), "dB": (1, True),
                                                                        "dC": (1, False)}
    # The pushed hotfix (Mar 3 10:00) fails the deployment running then, dA, and ships in dB (Mar 4 13:00):
    # recovered after 48 h.
    assert rows["dA"]["failure_reasons"] == ["hotfix"]
    assert rows["dA"]["recovery_hours"] == pytest.approx(48.0)
    row = dora(frames, by="repo", grain=None).collect().row(0, named=True)
    assert (row["rework_deployments"], row["rework_rate"]) == (1, pytest.approx(1 / 3))
    # Lead times 28, 4, 27, 46: median (27 + 28) / 2.
    assert row["lead_time_median_hours"] == pytest.approx(27.5)


def test_a_rollback_contains_nothing_and_changes_keep_their_first_deployment(con, make_repo):
    """c1 <- c2 on main (repository without PRs: every commit a change). d1 Mar 2 at c2 ships c1 and c2;
    d2 Mar 3 rolls back to c1 (contains nothing); d3 Mar 4 at c2 again: c2 keeps d1."""
    from impactlens.collectors.git import collect_git

    repo = make_repo("svc")
    repo.write("a.py", "1\n")
    c1 = repo.commit("one", date="2024-03-01T09:00:00+00:00")
    repo.write("a.py", "2\n")
    c2 = repo.commit("two", date="2024-03-01T10:00:00+00:00")
    collect_git(con, repo.path, repo_id="acme/svc")
    add_deployment(con, "d1", "2024-03-02 09:00", repo="acme/svc", sha=c2)
    add_deployment(con, "d2", "2024-03-03 09:00", repo="acme/svc", sha=c1)
    add_deployment(con, "d3", "2024-03-04 09:00", repo="acme/svc", sha=c2)
    frames = frames_of(con)
    got = {r["change_id"]: r["deployment_id"] for r in changes(frames).collect().iter_rows(named=True)}
    assert got == {f"commit:{c1}": "d1", f"commit:{c2}": "d1"}
    rows = {r["deployment_id"]: r["changes"] for r in deployment_facts(frames).collect().iter_rows(named=True)}
    assert rows == {"d1": 2, "d2": 0, "d3": 0}


def test_a_revert_fails_the_deployment_that_contained_the_change(con, make_repo):
    """c0 (Mar 1) -> M1 "Merge pull request #1" (Mar 2 12:00; branch commit b1) -> r, a pushed revert of b1
    (Mar 4 10:00). dX Mar 2 13:00 deploys c0 (after the merge in time, but not containing it); dY Mar 3 09:00
    deploys M1; dZ Mar 4 12:00 deploys r. The reverted change was shipped by dY (by time it would have been
    dX), and fixed by dZ: recovery Mar 3 09:00 -> Mar 4 12:00 = 27 h."""
    from impactlens.collectors.git import collect_git

    repo = make_repo("svc")
    repo.write("a.py", "a\n")
    c0 = repo.commit("c0", date="2024-03-01T09:00:00+00:00")
    repo.git("checkout", "-q", "-b", "one")
    repo.write("b.py", "b\n")
    b1 = repo.commit("b1", date="2024-03-02T09:00:00+00:00")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #1 from ada/one", "one",
             env=_git_env("2024-03-02T12:00:00+00:00"))
    m1 = repo.git("rev-parse", "HEAD")
    repo.git("rm", "-q", "b.py")
    r = repo.commit(f'Revert "b1"\n\nThis reverts commit {b1}.', date="2024-03-04T10:00:00+00:00")
    collect_git(con, repo.path, repo_id="acme/svc")
    add_pr(con, 1, "ada", "2024-03-02 10:00", repo="acme/svc", merged_at="2024-03-02 12:00")
    add_deployment(con, "dX", "2024-03-02 13:00", repo="acme/svc", sha=c0)
    add_deployment(con, "dY", "2024-03-03 09:00", repo="acme/svc", sha=m1)
    add_deployment(con, "dZ", "2024-03-04 12:00", repo="acme/svc", sha=r)
    rows = {x["deployment_id"]: x for x in deployment_facts(frames_of(con)).collect().iter_rows(named=True)}
    assert {d: x["failure_reasons"] for d, x in rows.items()} == {"dX": [], "dY": ["revert"], "dZ": []}
    assert rows["dY"]["recovery_hours"] == pytest.approx(27.0)
    assert rows["dZ"]["rework"] is True
