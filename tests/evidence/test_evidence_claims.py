"""Evidence claims on a small hand-built warehouse; every expected value is worked out in the comments.

The organisation (times UTC). The reviewed period is March 2024 (2024-03-01 to 2024-03-31, 31 days);
the previous period is the 31 days before (2024-01-30 to 2024-02-29).

* Team core: ada (E6, since 2023), cy (E4, since 2023), bob (E3, joins 2024-02-01) -> 3 engineers in March.
  Team web: dan (E4). dependabot[bot] is a bot.
* Milestone 1 "Q1: Onboarding" of acme/api holds PRs 1-4.
* PR 1, 2, 3 by bob (his first three PRs): created Mar 4, 6, 11 at 10:00; merged 24 h, 24 h and 30 h later;
  10, 30 and 50 changed lines (GitHub totals, no commit files). ada reviews each (Mar 4 14:00 approve,
  Mar 6 15:00 changes requested, Mar 12 09:00 approve) and comments on 1 and 3 (outside a review).
* PR 4 by cy (Mar 13 10:00, merged Mar 14 10:00), reviewed by ada Mar 13 12:00; commit c1 by cy writes
  src/payments/x.py (250 + 50 lines); commit a2 by ada writes src/payments/y.py (100 lines).
* PR 5 by ada (Mar 18 10:00, merged Mar 19 10:00): commit a1 adds docs/adr/0001-use-duckdb.md (40 lines,
  an ADR) and src/db.py; cy reviews it Mar 18 15:00 requesting changes.
* PR 6 by dan in acme/web (Mar 20), reviewed by ada Mar 20 12:00. PR 8 by dependabot[bot], approved by ada.
* PR 9 by cy, opened Mar 15 10:00, still open, never reviewed.
* In February ada added docs/design/old.md (a design doc) in commit a0. The data starts with cy's commit c0
  on 2023-12-01, so the previous period of March is covered by the data.
* Incidents: INC-1 opened Mar 8 10:00, restored 14:00 (4 h), commander cy, responder ada, postmortem linked;
  INC-2 opened Mar 25 10:00, restored 20:00 (10 h), commander cy, no postmortem. bob has no incident.
* Production deployments of acme/api: d0 Feb 20, d1 Mar 5 12:00, d2 Mar 12 18:00 (all successful).
* CODEOWNERS of acme/api (commit co1): "* @acme/core", "/docs/adr/ @ada", "/src/payments/ @cy ada@x.com".
"""

from __future__ import annotations

from datetime import date

import pytest

from impactlens.evidence import claims as C
from impactlens.evidence.claims import Subject
from impactlens.evidence.tables import EvidenceError
from builders import (
    add_comment, add_commit, add_deployment, add_incident, add_member, add_person, add_pr, add_review, insert, ts,
)

MARCH = (date(2024, 3, 1), date(2024, 3, 31))


def build_world(con) -> None:
    """The organisation of the module docstring."""
    add_person(con, "ada", logins=("ada",), emails=("ada@x.com",), level="E6")
    add_person(con, "bob", logins=("bob",), emails=("bob@x.com",), level="E3")
    add_person(con, "cy", logins=("cy",), emails=("cy@x.com",), level="E4")
    add_person(con, "dan", logins=("dan",), emails=("dan@x.com",), level="E4")
    add_person(con, "dependabot", logins=("dependabot[bot]",), is_bot=True, bot_kind="bot")
    for person, team, since in (("ada", "core", "2023-01-01"), ("cy", "core", "2023-01-01"),
                                ("bob", "core", "2024-02-01"), ("dan", "web", "2023-01-01")):
        add_member(con, person, team, since)
    insert(con, "teams", team_id="core", name="Core")
    insert(con, "teams", team_id="web", name="Web")
    insert(con, "repositories", repo_id="acme/api", name="api", owner="acme", url="https://github.com/acme/api")
    insert(con, "repositories", repo_id="acme/web", name="web", owner="acme", url="https://github.com/acme/web")
    insert(con, "milestones", repo_id="acme/api", number=1, title="Q1: Onboarding", state="open",
           url="https://github.com/acme/api/milestone/1")

    add_pr(con, 1, "bob", "2024-03-04 10:00", merged_at="2024-03-05 10:00", additions=10, deletions=0, milestone_number=1)
    add_pr(con, 2, "bob", "2024-03-06 10:00", merged_at="2024-03-07 10:00", additions=20, deletions=10, milestone_number=1)
    add_pr(con, 3, "bob", "2024-03-11 10:00", merged_at="2024-03-12 16:00", additions=40, deletions=10, milestone_number=1)
    add_review(con, 1, "ada", "2024-03-04 14:00")
    add_review(con, 2, "ada", "2024-03-06 15:00", state="CHANGES_REQUESTED")
    add_review(con, 3, "ada", "2024-03-12 09:00")
    add_comment(con, 1, "ada", "2024-03-04 13:00")
    add_comment(con, 3, "ada", "2024-03-12 08:00")

    add_pr(con, 4, "cy", "2024-03-13 10:00", merged_at="2024-03-14 10:00", additions=5, deletions=5, milestone_number=1)
    add_review(con, 4, "ada", "2024-03-13 12:00")
    add_commit(con, "c1", "cy@x.com", "2024-03-13 09:00", pr_number=4, subject="Payments",
               files={"src/payments/x.py": (250, 50, "code", "A")})
    add_commit(con, "a2", "ada@x.com", "2024-03-14 09:00", files={"src/payments/y.py": (100, 0, "code", "A")})

    add_pr(con, 5, "ada", "2024-03-18 10:00", merged_at="2024-03-19 10:00", additions=100, deletions=0)
    add_commit(con, "a1", "ada@x.com", "2024-03-18 09:00", pr_number=5, subject="ADR: use DuckDB",
               files={"docs/adr/0001-use-duckdb.md": (40, 0, "adr", "A"), "src/db.py": (60, 0, "code", "A")})
    add_review(con, 5, "cy", "2024-03-18 15:00", state="CHANGES_REQUESTED")
    add_commit(con, "c0", "cy@x.com", "2023-12-01 09:00", subject="Start", files={"README.md": (1, 0, "docs", "A")})
    add_commit(con, "a0", "ada@x.com", "2024-02-10 09:00", subject="Design",
               files={"docs/design/old.md": (30, 0, "design_doc", "A")})

    add_pr(con, 6, "dan", "2024-03-20 10:00", repo="acme/web", merged_at="2024-03-21 10:00", additions=1, deletions=1)
    add_review(con, 6, "ada", "2024-03-20 12:00", repo="acme/web")
    add_pr(con, 8, "dependabot[bot]", "2024-03-21 10:00", merged_at="2024-03-21 12:00", author_is_bot=True,
           additions=500, deletions=0)
    add_review(con, 8, "ada", "2024-03-21 11:00")
    add_pr(con, 9, "cy", "2024-03-15 10:00", additions=3, deletions=0)

    add_incident(con, "INC-1", "2024-03-08 10:00", resolved="2024-03-08 14:00", commander="cy", responders=["ada"],
                 postmortem_url="https://wiki.example.com/pm/inc-1")
    add_incident(con, "INC-2", "2024-03-25 10:00", resolved="2024-03-25 20:00", commander="cy")
    for deployment, at in (("d0", "2024-02-20 12:00"), ("d1", "2024-03-05 12:00"), ("d2", "2024-03-12 18:00")):
        add_deployment(con, deployment, at)
    insert(con, "codeowners", repo_id="acme/api", path=".github/CODEOWNERS", valid_from=ts("2024-01-01 00:00"),
           commit_sha="co1", source="test",
           content="* @acme/core\n/docs/adr/ @ada\n/src/payments/ @cy ada@x.com\n")


@pytest.fixture
def world(con):
    build_world(con)
    return con


def subject(con, person: str) -> Subject:
    return Subject(con, person, *MARCH)


def one(claims):
    assert len(claims) == 1, [c.sentence for c in claims]
    return claims[0]


def test_mentees_are_the_less_experienced_people_with_three_touchpoints(world):
    claim = one(C.mentees(subject(world, "ada")))
    # ada -> bob: the review requesting changes on PR 2 + 2 comments (PRs 1, 3) = 3 touchpoints, all on bob's
    # first five PRs (onboarding), in the weeks of Mar 4 and Mar 11; her two plain approvals are routine, not mentoring.
    # ada -> cy and ada -> dan: 1 review each (below 3): not mentees. dependabot is a bot.
    assert claim.subjects == ["bob"]
    assert claim.figure("mentees").value == 1
    assert claim.figure("touchpoints:bob").value == 3
    assert claim.figure("mentees_onboarded_or_paired").value == 1
    assert sorted(r.label for r in claim.records) == ["acme/api#1", "acme/api#2", "acme/api#3"]
    assert {r.url for r in claim.records} == {f"https://github.com/acme/api/pull/{n}" for n in (1, 2, 3)}
    assert "bob (3 touchpoints: 1 review, 2 PR comments, 0 co-authored commits, 3 on their first five PRs)" in claim.sentence
    assert claim.sentence.startswith("The data shows")
    assert C.mentees(subject(world, "bob")) == []


def test_mentee_growth_compares_first_weeks_with_the_weeks_to_the_period_end(world):
    # In March alone bob's first 8 weeks (from Mar 4) reach past the period's end: no growth claim yet.
    assert C.mentee_growth(subject(world, "ada")) == []
    for number, day in ((10, 6), (11, 13), (12, 20), (13, 27)):
        add_pr(world, number, "bob", f"2024-05-{day:02d} 09:00", merged_at=f"2024-05-{day:02d} 15:00", additions=5, deletions=0)
    claim = one(C.mentee_growth(Subject(world, "ada", date(2024, 3, 1), date(2024, 6, 30))))
    # First 8 weeks from Mar 4 10:00: merged Mar 5, 7, 12 -> 3 / 8 = 0.375 -> 0.4 per week.
    # The 8 weeks to the end (May 6 to Jul 1, after the first 8 weeks end on Apr 29): 4 PRs / 8 = 0.5.
    fig = claim.figure("mentee_prs_per_week:bob")
    assert (fig.previous, fig.value) == (0.4, 0.5)
    assert sorted(r.label for r in claim.records) == [f"acme/api#{n}" for n in (10, 11, 12, 13)]
    assert "does not" not in claim.sentence and claim.sentence.startswith("The data shows bob")


def test_adrs_authored_lists_documents_and_their_pr(world):
    claim = one(C.adrs_authored(subject(world, "ada")))
    assert claim.subjects == ["docs/adr/0001-use-duckdb.md"]
    assert claim.figure("adrs_authored").value == 1
    assert claim.figure("adrs_authored").previous == 0  # the February file is a design doc, not an ADR
    doc = next(r for r in claim.records if r.kind == "document")
    assert doc.key == "a1:docs/adr/0001-use-duckdb.md"
    assert doc.url == "https://github.com/acme/api/blob/a1/docs/adr/0001-use-duckdb.md"
    assert [r.label for r in claim.records if r.kind == "pr"] == ["acme/api#5"]
    # The design doc was added in February: nothing in March.
    assert C.design_docs_authored(subject(world, "ada")) == []
    feb = Subject(world, "ada", date(2024, 2, 1), date(2024, 2, 29))
    assert one(C.design_docs_authored(feb)).subjects == ["docs/design/old.md"]


def test_design_reviews_count_reviews_on_prs_changing_an_adr(world):
    claim = one(C.design_reviews(subject(world, "cy")))
    # cy's review on PR 5 (which adds the ADR), requesting changes.
    assert claim.figure("design_reviews").value == 1
    assert claim.figure("design_changes_requested").value == 1
    assert {r.kind for r in claim.records} == {"review", "pr"}
    assert C.design_reviews(subject(world, "ada")) == []  # ada reviewed no design PR by others


def test_incidents_led_with_postmortem_and_mttr(world):
    claim = one(C.incidents_led(subject(world, "cy")))
    # INC-1 (4 h, postmortem) and INC-2 (10 h): median (4 + 10) / 2 = 7.0 hours; the team (ada, bob, cy)
    # took part in 2 incidents.
    assert claim.figure("incidents_led").value == 2
    assert claim.figure("incidents_led").previous == 0
    assert claim.figure("incidents_led_with_postmortem").value == 1
    assert claim.figure("incidents_led_mttr_median").value == 7.0
    assert "on-call share: 2 of 2 team incidents" in claim.figure("incidents_led").context
    assert [r.key for r in claim.records] == ["INC-1", "INC-2"]
    responded = one(C.incidents_responded(subject(world, "ada")))
    assert responded.figure("incidents_responded").value == 1
    assert [r.key for r in responded.records] == ["INC-1"]


def test_a_person_with_no_incident_gets_no_incident_claim(world):
    s = subject(world, "bob")
    assert C.incidents_led(s) == [] and C.incidents_responded(s) == [] and C.postmortems_written(s) == []


def test_delivery_figures_of_own_merged_prs(world):
    claim = one(C.delivery_figures(subject(world, "bob")))
    # 3 PRs merged in March, none before; sizes 10, 30, 50 -> median 30 lines; cycle time to merge
    # 24, 24, 30 hours -> median 24; 3 PRs over 31/7 weeks = 0.68 -> 0.7 per week.
    assert claim.figure("prs_merged").value == 3 and claim.figure("prs_merged").previous == 0
    assert claim.figure("median_pr_size_lines").value == 30
    assert claim.figure("median_cycle_time_to_merge_hours").value == 24.0
    assert claim.figure("prs_merged_per_week").value == 0.7
    assert "Core (3 engineers)" in claim.figure("prs_merged").context
    assert "2024-03-01 to 2024-03-31" in claim.figure("prs_merged").context
    assert sorted(r.label for r in claim.records) == ["acme/api#1", "acme/api#2", "acme/api#3"]


def test_owned_repo_delivery_gives_the_main_repositorys_dora_figures(world):
    claim = one(C.owned_repo_delivery(subject(world, "bob")))
    # bob's 3 merged PRs are all in acme/api. Deployments in March: d1, d2 -> 2 / (31/7 weeks) = 0.45 -> 0.5
    # per week; February's period: d0 -> 1 / (31/7) = 0.23 -> 0.2. INC-1 (Mar 8) and INC-2 (Mar 25) each open
    # after a deployment of acme/api and are attributed to the latest one before them (d1, d2; DevLake's rule,
    # docs/metrics.md): change failure rate 2/2 = 1.0 in March, 0/1 = 0.0 before.
    assert claim.subjects == ["acme/api"]
    assert (claim.figure("deployments_per_week").value, claim.figure("deployments_per_week").previous) == (0.5, 0.2)
    assert (claim.figure("change_failure_rate").value, claim.figure("change_failure_rate").previous) == (1.0, 0.0)
    assert [r.key for r in claim.records] == ["d1", "d2"]
    assert C.owned_repo_delivery(subject(world, "cy")) == []  # one merged PR: under the minimum of 3


def test_no_comparison_with_a_previous_period_the_data_does_not_cover(world):
    # December 2023 to March 2024 (122 days): the previous period starts on 2023-08-01, before the data
    # (2023-12-01). Its figures would read as zero: the claim makes no comparison instead.
    s = Subject(world, "bob", date(2023, 12, 1), date(2024, 3, 31))
    assert not s.previous_covered
    claim = one(C.delivery_figures(s))
    assert claim.figure("prs_merged").value == 3 and claim.figure("prs_merged").previous is None
    assert "previous period" not in claim.sentence
    assert one(C.delivery_figures(subject(world, "bob"))).figure("prs_merged").previous == 0  # March is covered


def test_collaboration_breadth_leaves_bots_out(world):
    claim = one(C.collaboration_breadth(subject(world, "ada")))
    # ada merged PR 5 (acme/api) and reviewed in acme/api and acme/web: 2 repositories; authors reviewed:
    # bob, cy (core) and dan (web) = 3 people in 2 teams; dependabot's PR 8 is not a person.
    assert claim.figure("repositories").value == 2
    assert claim.figure("authors_reviewed").value == 3
    assert claim.figure("teams_reviewed").value == 2
    assert "dependabot" not in claim.sentence


def test_projects_led_by_most_of_a_milestone(world):
    claim = one(C.projects_led(subject(world, "bob")))
    # Milestone 1: PRs 1, 2, 3 (bob) and 4 (cy) merged in March: bob 3 of 4 = 75%.
    assert claim.figure("prs_authored").value == 3
    assert claim.figure("project_prs").value == 4
    assert claim.figure("share_of_project").value == 0.75
    assert claim.records[0].kind == "milestone" and claim.records[0].url == "https://github.com/acme/api/milestone/1"
    assert C.projects_led(subject(world, "cy")) == []  # 1 of 4


def test_projects_led_by_most_of_the_prs_linked_to_an_issue(world):
    # Issue 50 "Epic: search": PRs 30, 31, 32 by cy and 33 by ada link it, all merged in March -> cy 3 of 4.
    # PRs 34 and 35 by cy link issue 60, which the warehouse does not hold: the claim cites the PRs only.
    insert(world, "issues", repo_id="acme/api", number=50, title="Epic: search", state="open",
           created_at=ts("2024-02-01 09:00"), url="https://github.com/acme/api/issues/50")
    for number, author, day, issue in ((30, "cy", 4, 50), (31, "cy", 5, 50), (32, "cy", 6, 50), (33, "ada", 7, 50),
                                       (34, "cy", 8, 60), (35, "cy", 11, 60), (36, "cy", 12, 60)):
        add_pr(world, number, author, f"2024-03-{day:02d} 09:00", merged_at=f"2024-03-{day:02d} 17:00",
               additions=1, deletions=0, linked_issues=[issue])
    claims = C.projects_led(subject(world, "cy"))
    assert [c.subjects for c in claims] == [["Epic: search"], ["acme/api#60"]]
    epic, unknown = claims
    assert epic.figure("share_of_project").value == 0.75
    assert [r.label for r in epic.records] == ["acme/api#50", "acme/api#30", "acme/api#31", "acme/api#32"]
    assert epic.records[0].kind == "issue" and epic.records[0].url == "https://github.com/acme/api/issues/50"
    assert [r.kind for r in unknown.records] == ["pr", "pr", "pr"]


def test_codeowners_names_the_person_by_login_or_email(world):
    claim = one(C.codeowners_entries(subject(world, "ada")))
    assert claim.subjects == ["/docs/adr/", "/src/payments/"]  # the team line does not name ada
    assert claim.records[0].key == ".github/CODEOWNERS@co1"
    assert C.codeowners_entries(subject(world, "bob")) == []


def test_areas_owned_by_largest_share_of_changed_lines(world):
    claim = one(C.areas_owned(subject(world, "cy")))
    # src/payments: cy 300 lines, ada 100 -> cy 75% of 400.
    assert claim.subjects == ["acme/api:src/payments/"]
    assert claim.figures[0].value == 0.75
    assert [r.key for r in claim.records] == ["c1"]
    assert C.areas_owned(subject(world, "ada")) == []  # ada's largest area has 100 lines, under 200


def test_person_resolved_from_login_and_unknown_person_rejected(world):
    from impactlens.evidence.tables import resolve_person

    assert resolve_person(world, "ADA")[0] == "ada"
    assert resolve_person(world, "bob@x.com")[0] == "bob"
    with pytest.raises(EvidenceError, match="no person, login, email or name 'zed'"):
        resolve_person(world, "zed")
    with pytest.raises(EvidenceError, match="'dependabot\\[bot\\]' is a bot"):
        resolve_person(world, "dependabot[bot]")
    with pytest.raises(EvidenceError, match="before"):
        Subject(world, "ada", date(2024, 3, 31), date(2024, 3, 1))


def test_work_under_a_second_email_counts_for_the_same_person(world):
    # ada also commits as ADA@Home.org (an identity the roster ties to her): her second ADR counts.
    insert(world, "identities", identity_id="email:ada@home.org", kind="email", value="ADA@Home.org",
           person_id="ada", source="test")
    add_commit(world, "a3", "ADA@Home.org", "2024-03-25 09:00", subject="ADR: retries",
               files={"docs/adr/0002-retries.md": (20, 0, "adr", "A")})
    claim = one(C.adrs_authored(subject(world, "ada")))
    assert claim.subjects == ["docs/adr/0001-use-duckdb.md", "docs/adr/0002-retries.md"]
    assert claim.figure("adrs_authored").value == 2


def test_unresolved_identity_is_its_own_actor(world):
    # A login no roster links to anyone still gets its evidence (the data contract's actor key).
    insert(world, "identities", identity_id="github_login:eve", kind="github_login", value="eve", source="test")
    add_pr(world, 20, "eve", "2024-03-04 10:00", merged_at="2024-03-04 12:00", additions=1, deletions=1)
    s = Subject(world, "github_login:eve", *MARCH)
    assert one(C.delivery_figures(s)).figure("prs_merged").value == 1
