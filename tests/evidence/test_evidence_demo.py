"""The evidence packets of the demo organisation's planted stories (impactlens.demo, sample_data/README.md).

The expected people, paths and dates come from the story constants, not from the evidence code."""

from __future__ import annotations

from datetime import date

import pytest

from impactlens import demo, warehouse
from impactlens.demo import cast
from impactlens.evidence import NO_EVIDENCE, build_packet
from test_evidence_packet import record_exists


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path, _ = demo.ensure(tmp_path_factory.mktemp("demo") / "demo.duckdb", rebuild=True)
    return path


@pytest.fixture(scope="module")
def con(demo_path):
    connection = warehouse.read_only(demo_path)
    yield connection
    connection.close()


def claim_of(packet, kind):
    found = [c for c in packet.claims if c.kind == kind]
    assert len(found) == 1, (kind, [c.kind for c in packet.claims])
    return found[0]


def test_mentor_packet_names_the_two_new_hires_with_links_to_their_prs(con):
    story = demo.DEMO_STORIES["mentoring"]
    first_start = min(story["mentee_starts"].values())
    packet = build_packet(con, story["mentor"], first_start, date(2026, 2, 28), charts=False)
    mentees = claim_of(packet, "mentees")
    # The two new hires are the mentor's mentees with the most touchpoints, onboarded or paired with.
    assert set(mentees.subjects[:2]) == set(story["mentees"])
    assert "Onboarded or paired with: " in mentees.sentence
    close = mentees.sentence.split("Onboarded or paired with: ")[1].split(" Through reviews")[0]
    for mentee in story["mentees"]:
        assert cast.PEOPLE_BY_ID[mentee].name in close
    # Links: PRs written by each mentee (their logins, from the cast), and every link resolves.
    logins = {cast.PEOPLE_BY_ID[m].login for m in story["mentees"]}
    pr_authors = {
        con.execute("SELECT author_login FROM pull_requests WHERE repo_id = ? AND number = ?",
                    [r.repo_id, int(r.key)]).fetchall()[0][0]
        for r in mentees.records if r.kind == "pr"
    }
    assert logins <= pr_authors
    growth = [c for c in packet.claims if c.kind == "mentee_growth"]
    assert set(story["mentees"]) <= {c.subjects[0] for c in growth}
    for claim in growth:
        if claim.subjects[0] in story["mentees"]:
            fig = claim.figures[0]
            assert fig.value > fig.previous  # the story: their merged PRs per week grow
    for rec in packet.records():
        assert record_exists(con, rec), rec


def test_adr_author_packet_lists_the_adrs_and_design_docs(con):
    story = demo.DEMO_STORIES["adr_author"]
    packet = build_packet(con, story["person"], cast.START, cast.END, charts=False)
    adrs = claim_of(packet, "adrs_authored")
    assert sorted(adrs.subjects) == sorted(story["adrs"])
    assert sorted(claim_of(packet, "design_docs_authored").subjects) == sorted(story["design_docs"])
    for adr in story["adrs"]:
        assert adr in packet.to_markdown()
    assert next(i.status for i in packet.audit if i.id == "design") == "evidenced"
    for rec in packet.records():
        assert record_exists(con, rec), rec


def test_new_hire_without_incidents_gets_no_evidence_for_the_incident_expectation(con):
    mentee = demo.DEMO_STORIES["mentoring"]["mentees"][0]
    person = cast.PEOPLE_BY_ID[mentee]
    # The data itself: the new hire never led or answered an incident (checked with SQL on the raw rows).
    rows = con.execute(
        "SELECT count(*) FROM incidents WHERE lower(commander) IN (?, ?) OR list_contains(responders, ?) "
        "OR list_contains(responders, ?)", [person.email, person.login, person.email, person.login]
    ).fetchall()[0][0]
    assert rows == 0
    packet = build_packet(con, mentee, cast.MENTEE_STARTS[mentee], cast.END, charts=False)
    item = next(i for i in packet.audit if i.id == "incident_response")
    assert item.status == NO_EVIDENCE and item.claims == []
    assert not [c for c in packet.claims if c.section == "operational_excellence"]


def test_runbook_author_packet_lists_the_runbooks_and_the_mttr_before_and_after(con):
    story = demo.DEMO_STORIES["incidents_runbook"]
    packet = build_packet(con, story["author"], story["heavy_quarter"][0], date(2026, 6, 30), charts=False)
    runbooks = claim_of(packet, "runbooks_written")
    assert sorted(runbooks.subjects) == sorted(story["paths"])
    after = runbooks.figure("repo_mttr_after_runbook")
    assert after is not None and after.value < after.previous  # the story: MTTR falls after the runbook
    assert any(c.kind == "incidents_led" for c in packet.claims)


def test_one_command_writes_the_mentors_packet_from_the_demo(demo_path, con, tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "maya.md"
    env = {**os.environ, "IMPACTLENS_DEMO_DB": str(demo_path)}  # the demo built above, not sample_data/cache
    result = subprocess.run(
        [sys.executable, "-m", "impactlens", "report", "--demo", "--person", "maya-okafor", "--since", "2025-09-01",
         "--until", "2026-02-28", "--out", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "# Evidence packet: Maya Okafor (Staff Engineer, E6)" in text
    assert "Leo Park" in text and "Sofia Marin" in text and "](https://github.com/acme/api/pull/" in text
