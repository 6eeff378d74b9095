"""The packet, the rubric audit, brag entries and the team review on the hand-built organisation of
test_evidence_claims (its docstring gives the data and the worked-out figures)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from impactlens.evidence import (
    EVIDENCED, NO_EVIDENCE, PARTLY, RubricError, append_entry, build_packet, build_team_review, load_brag,
    load_rubric, parse_rubric,
)
from impactlens.evidence.brag import BragError
from impactlens.evidence.model import Record
from impactlens.evidence.team_review import parse_week
from test_evidence_claims import MARCH, build_world
from builders import add_pr


@pytest.fixture
def world(con):
    build_world(con)
    return con


def record_exists(con, rec: Record) -> bool:
    """Whether ``rec`` names a row of the warehouse (checked with plain SQL, independently of the code)."""
    if rec.kind == "document":
        sha, path = rec.key.split(":", 1)
        query = ("SELECT count(*) FROM commit_files WHERE repo_id = ? AND sha = ? AND path = ?", [rec.repo_id, sha, path])
    elif rec.kind == "codeowners":
        path, sha = rec.key.rsplit("@", 1)
        query = ("SELECT count(*) FROM codeowners WHERE repo_id = ? AND path = ? AND commit_sha = ?", [rec.repo_id, path, sha])
    elif rec.kind in ("pr", "milestone", "issue"):
        table = {"pr": "pull_requests", "milestone": "milestones", "issue": "issues"}[rec.kind]
        query = (f"SELECT count(*) FROM {table} WHERE repo_id = ? AND number = ?", [rec.repo_id, int(rec.key)])
    else:
        table, column, scoped = {"review": ("reviews", "review_id", True), "commit": ("commits", "sha", True),
                                 "incident": ("incidents", "incident_id", False),
                                 "deployment": ("deployments", "deployment_id", False)}[rec.kind]
        query = (f"SELECT count(*) FROM {table} WHERE {column} = ?" + (" AND repo_id = ?" if scoped else ""),
                 [rec.key, rec.repo_id] if scoped else [rec.key])
    return con.execute(*query).fetchall()[0][0] == 1


def status_of(packet, expectation: str) -> str:
    return next(i.status for i in packet.audit if i.id == expectation)


# ------------------------------------------------------------------------------------------------ packet


@pytest.mark.parametrize("person", ["ada", "bob", "cy", "dan"])
def test_every_claim_has_records_and_every_link_resolves(world, person):
    packet = build_packet(world, person, *MARCH, charts=False)
    assert packet.claims, "each of these people has some evidence in March"
    for claim in packet.claims:
        assert claim.records, claim.kind
    for rec in packet.records():
        assert record_exists(world, rec), rec
        if rec.url:
            assert rec.url.startswith(("https://github.com/acme/", "https://wiki.")), rec.url


def test_person_without_incidents_gets_no_evidence_not_a_claim(world):
    bob = build_packet(world, "bob", *MARCH, charts=False)
    section = next(s for s in bob.sections if s.key == "operational_excellence")
    assert section.claims == []
    item = next(i for i in bob.audit if i.id == "incident_response")
    assert item.status == NO_EVIDENCE and item.claims == []
    assert "commander" in item.close_with
    assert "No claim: the data shows nothing of this kind in the period." in bob.to_markdown()
    # cy led INC-1, which has a postmortem: evidenced; ada only responded to it: partly.
    assert status_of(build_packet(world, "cy", *MARCH, charts=False), "incident_response") == EVIDENCED
    assert status_of(build_packet(world, "ada", *MARCH, charts=False), "incident_response") == PARTLY


def test_summary_and_star_stubs_come_from_the_data(world):
    packet = build_packet(world, "ada", *MARCH, charts=False)
    assert packet.summary.startswith("Between 2024-03-01 and 2024-03-31 the data from Git commits, GitHub pull requests, reviews, incidents and deployments of acme/api and acme/web shows")
    assert "merged 1 PRs" in packet.summary and "gave 6 reviews" in packet.summary  # PRs 1, 2, 3, 4, 6, 8
    strongest = sorted(packet.claims, key=lambda c: -c.strength)
    assert len(packet.star) == 3
    assert packet.star[0].claim_kind == strongest[0].kind
    assert packet.star[0].result.startswith(strongest[0].sentence)
    assert packet.star[0].situation.startswith("(to write")
    assert len({s.claim_kind for s in packet.star}) == 3


def test_markdown_html_json_outputs(world, tmp_path):
    packet = build_packet(world, "ada", *MARCH)
    md_files = packet.write(tmp_path / "ada.md", "md")
    assert [p.name for p in md_files] == ["ada.md", "ada-activity.png", "ada-delivery.png"]
    for png in md_files[1:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = md_files[0].read_text()
    assert "![Weekly commits landed, PRs merged and reviews given, 2024-03-01 to 2024-03-31](ada-activity.png)" in text
    assert "## Mentoring" in text and "[acme/api#1 (PR 1)](https://github.com/acme/api/pull/1)" in text
    assert "## Rubric audit: Senior engineer (impactlens default)" in text

    html_file = packet.write(tmp_path / "ada.html", "html")[0]
    page = html_file.read_text()
    assert page.count("<svg") == 2 and "<script" not in page  # charts embedded, nothing fetched
    assert "href='https://github.com/acme/api/blob/a1/docs/adr/0001-use-duckdb.md'" in page

    data = json.loads(packet.write(tmp_path / "ada.json", "json")[0].read_text())
    assert data["person_id"] == "ada" and data["since"] == "2024-03-01"
    mentoring = next(s for s in data["sections"] if s["key"] == "mentoring")
    assert mentoring["claims"][0]["subjects"] == ["bob"]
    assert data["charts"][0]["vega_lite"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_html_escapes_text_from_the_data(world):
    world.execute("UPDATE pull_requests SET title = '<script>alert(1)</script>' WHERE number = 1")
    world.execute("UPDATE milestones SET title = 'Q1 <b>Onboarding</b>'")
    page = build_packet(world, "bob", *MARCH, charts=False).to_html()
    assert "<script>" not in page and "<b>Onboarding" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Q1 &lt;b&gt;Onboarding&lt;/b&gt;" in page


def test_markdown_links_survive_brackets_in_titles(world):
    world.execute("UPDATE pull_requests SET title = 'Fix [bug] in parser' WHERE number = 2")
    md = build_packet(world, "bob", *MARCH, charts=False).to_markdown()
    assert "[acme/api#2 (Fix \\[bug\\] in parser)](https://github.com/acme/api/pull/2)" in md


def test_unknown_format_is_rejected(world, tmp_path):
    from impactlens.evidence.tables import EvidenceError

    with pytest.raises(EvidenceError, match="unknown format 'pdf'"):
        build_packet(world, "ada", *MARCH, charts=False).write(tmp_path / "x.pdf", "pdf")


# ------------------------------------------------------------------------------------------------ rubric


def test_custom_rubric_changes_the_audit(world, tmp_path):
    default = build_packet(world, "ada", *MARCH, charts=False)
    assert status_of(default, "mentoring") == PARTLY  # 1 mentee, the default asks for 2
    rubric = tmp_path / "ladder.yaml"
    rubric.write_text(
        "name: Acme L5\n"
        "expectations:\n"
        "  - id: mentoring\n"
        "    title: Mentors one engineer\n"
        "    section: mentoring\n"
        "    evidence:\n"
        "      - figure: mentees\n"
        "        at_least: 1\n"
        "  - id: ships_design\n"
        "    title: Writes an ADR and leads an incident\n"
        "    section: technical_leadership\n"
        "    evidence:\n"
        "      - claim: adrs_authored\n"
        "      - figure: incidents_led\n"
        "        at_least: 1\n"
        "    close_with: Lead an incident.\n"
    )
    custom = build_packet(world, "ada", *MARCH, rubric=rubric, charts=False)
    assert custom.rubric_name == "Acme L5"
    assert [(i.id, i.status) for i in custom.audit] == [("mentoring", EVIDENCED), ("ships_design", PARTLY)]
    item = custom.audit[1]
    assert item.measured == ["claim adrs_authored: 1", "figure incidents_led >= 1: not in the data"]
    assert [c.kind for c in item.claims] == ["adrs_authored"]
    assert [c.kind for c in custom.audit[0].claims] == ["mentees"]


@pytest.mark.parametrize("text, line, message", [
    ("expectations:\n  - id: a\n    title: A\n    section: mentoring\n    evidence:\n      - claim: mentorship\n",
     6, "unknown claim 'mentorship'"),
    ("expectations:\n  - id: a\n    title: A\n    section: mentoring\n    evidence:\n      - figure: mentees\n"
     "        at_least: two\n", 7, "at_least must be a number"),
    ("expectations:\n  - id: a\n    title: A\n    section: people\n    evidence:\n      - claim: mentees\n",
     4, "unknown section 'people'"),
    ("expectations:\n  - id: a\n    title: A\n    section: mentoring\n", 2, "lacks evidence"),
    ("expectations:\n  - id: a\n    title: A\n   section: mentoring\n", 4, "not valid YAML"),
    ("expectations:\n  - id: a\n    title: A\n    section: mentoring\n    evidence:\n      - claim: mentees\n"
     "  - id: a\n    title: B\n    section: mentoring\n    evidence:\n      - claim: mentees\n", 7, "appears twice"),
    ("name: x\nexpectation: []\n", 2, "unknown key 'expectation'"),
])
def test_malformed_rubric_is_rejected_with_its_line(text, line, message):
    with pytest.raises(RubricError) as err:
        parse_rubric(text, "ladder.yaml")
    assert f"ladder.yaml line {line}: " in str(err.value)
    assert message in str(err.value)


def test_default_rubric_loads_and_names_only_known_claims():
    rubric = load_rubric(None)
    assert rubric.name == "Senior engineer (impactlens default)"
    assert {e.id for e in rubric.expectations} >= {"mentoring", "incident_response", "design"}


def test_missing_rubric_file_is_a_clear_error(tmp_path):
    with pytest.raises(RubricError, match="cannot read rubric"):
        load_rubric(tmp_path / "nope.yaml")


# ------------------------------------------------------------------------------------------------ brag


def test_brag_entries_appear_self_reported_and_never_as_measured_figures(world, tmp_path):
    brag = tmp_path / "brag.md"
    brag.write_text(
        "---\nperson: ada\n---\n\n"
        "## 2024-03-07 · mentoring\nWeekly one-on-ones with bob.\nLinks: acme/api#1, INC-1, https://docs.example.com/1on1\n\n"
        "## 2024-01-15 · delivery\nOutside the period.\n"
    )
    without = build_packet(world, "ada", *MARCH, charts=False)
    packet = build_packet(world, "ada", *MARCH, brag=brag, charts=False)
    mentoring = next(s for s in packet.sections if s.key == "mentoring")
    assert [e.text for e in mentoring.self_reported] == ["Weekly one-on-ones with bob."]
    entry = mentoring.self_reported[0]
    assert [(r.kind, r.key) for r in entry.resolved] == [("pr", "1"), ("incident", "INC-1")]
    assert [c.sentence for c in packet.claims] == [c.sentence for c in without.claims]
    assert [(i.id, i.status) for i in packet.audit] == [(i.id, i.status) for i in without.audit]
    md = packet.to_markdown()
    assert "**Self-reported** (written by the person, not measured):" in md
    assert "- *Self-reported, 2024-03-07:* Weekly one-on-ones with bob." in md
    assert "https://docs.example.com/1on1" in md and "Outside the period" not in md
    assert "<span class='badge'>Self-reported</span> 2024-03-07: Weekly one-on-ones with bob." in packet.to_html()


def test_note_add_appends_to_markdown_and_yaml_without_losing_entries(tmp_path):
    for name in ("brag.md", "brag.yaml"):
        path = tmp_path / name
        append_entry(path, date(2024, 3, 7), "mentoring", "Onboarded bob.", ["acme/api#1"])
        append_entry(path, date(2024, 3, 9), "Technical leadership", "Talk: DuckDB at Acme.")
        entries = load_brag(path)
        assert [(e.day, e.section, e.text, e.links) for e in entries] == [
            (date(2024, 3, 7), "mentoring", "Onboarded bob.", ("acme/api#1",)),
            (date(2024, 3, 9), "technical_leadership", "Talk: DuckDB at Acme.", ()),
        ]


@pytest.mark.parametrize("name, text, message", [
    ("b.yaml", "- date: 2024-03-07\n  section: mentoring\n  text: ok\n- date: 2024-03-08\n  section: golf\n  text: x\n",
     "b.yaml line 4: unknown section 'golf'"),
    ("b.yaml", "- date: 2024-13-07\n  section: mentoring\n  text: ok\n", "b.yaml line 1: not a valid date"),
    ("b.md", "## 2024-03-07 · mentoring\nok\n\n## yesterday\nx\n", "b.md line 4: an entry heading"),
    ("b.md", "---\nperson: ada\n", "b.md line 1: front matter"),
])
def test_malformed_brag_file_is_rejected_with_its_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(BragError) as err:
        load_brag(path)
    assert str(err.value).endswith(message) or message in str(err.value)
    before = path.read_text()
    with pytest.raises(BragError):
        append_entry(path, date(2024, 3, 10), "mentoring", "more")
    assert path.read_text() == before  # nothing written to a malformed file


# ------------------------------------------------------------------------------------------------ team review


def test_parse_week():
    assert parse_week("2024-W11") == date(2024, 3, 11)
    assert parse_week("2024-03-14") == date(2024, 3, 11)
    from impactlens.evidence.tables import EvidenceError

    with pytest.raises(EvidenceError, match="neither an ISO week"):
        parse_week("last week")


def test_team_review_moved_figures_waiting_prs_and_review_load(world):
    # A draft PR by cy (opened Mar 14, no review) is not waiting for review.
    add_pr(world, 10, "cy", "2024-03-14 10:00", is_draft=True)
    review = build_team_review(world, "core", "2024-W11")
    assert (review.team_name, review.members) == ("Core", 3)
    merged = next(m.figure for m in review.moved if m.figure.name == "PRs merged")
    # Week Mar 11-17: PRs 3 (bob) and 4 (cy) merged -> 2. The baseline weeks Feb 12 - Mar 10 are not covered:
    # the PR data begins with PR 1 on Mar 4 (7 of 28 days, 25%), so no baseline and no change
    # (docs/metrics.md "Comparisons"), where "2 / 4 weeks = 0.5" would have claimed +300%.
    assert (merged.value, merged.previous) == (2, None)
    assert "only 25% covered by the data (it begins 2024-03-04): no comparison" in merged.context
    # Incidents the team took part in: none this week; the incident data begins with INC-1 on Mar 8: no baseline.
    incidents = next(m.figure for m in review.moved if m.figure.name == "Incidents")
    assert (incidents.value, incidents.previous) == (0, None)
    # No restore time this week and no covered baseline: nothing to show.
    assert "Median time to restore" not in [m.figure.name for m in review.moved]
    # Commits: the git data (from cy's c0, 2023-12-01) covers the baseline: c1 (cy, Mar 13) and a2 (ada, Mar 14)
    # against none in Feb 12 - Mar 10 (ada's a0 is Feb 10): 2 against 0, 2 events in all, too few to test.
    commits = next(m for m in review.moved if m.figure.name == "Commits")
    assert (commits.figure.value, commits.figure.previous) == (2, 0)
    assert commits.verdict is not None and not commits.verdict.significant
    assert commits.verdict.reason == "2 commits in both periods together (fewer than 5)"
    # Deployments: d2 (Mar 12) this week; the first, d0 (Feb 20), covers 20 of the baseline's 28 days (71%): no baseline.
    deployments = next(m.figure for m in review.moved if m.figure.name == "Deployments")
    assert (deployments.value, deployments.previous) == (1, None) and "only 71% covered" in deployments.context
    assert all(m.verdict is None for m in review.moved if m.figure.name != "Commits")
    assert review.moved[-1].figure.change is None  # figures with no change to measure come last
    # PR 9 (cy) ready Mar 15 10:00 with no review: waiting 62 hours at the week's end (Mar 18 00:00).
    assert [(w["record"].label, round(w["waiting_hours"])) for w in review.waiting] == [("acme/api#9", 62)]
    # Reviews by the team in the week: ada on PRs 3 and 4 -> shares (2, 0, 0): Gini = (2*3-3-1)*2 / (3*2) = 0.667.
    assert review.load["reviews"] == 2 and review.load["reviewers"] == 1
    assert review.load["gini"] == pytest.approx(2 / 3) and review.load["top_share"] == 1.0
    assert "shares" not in review.load  # no per-person list unless asked for
    assert review.incidents == []
    assert "ada" not in review.to_markdown()
    named = build_team_review(world, "Core", date(2024, 3, 13), names=True)
    assert named.load["shares"][0] == {"name": "ada", "reviews": 2, "share": 1.0}


def test_team_review_lists_the_weeks_incidents(world):
    review = build_team_review(world, "core", "2024-W10")
    # INC-1 opened Mar 8 (week of Mar 4) with cy commanding: restored in 4 hours, postmortem linked.
    assert [(i["record"].key, i["status"]) for i in review.incidents] == [
        ("INC-1", "restored in 4 hours, postmortem linked")]
    for rec in review.records():
        assert record_exists(world, rec)


def test_a_commit_author_not_recorded_as_an_identity_gets_a_packet(con):
    # A warehouse whose derive step never ran (commits stored, no identities): Dee's email is her own actor,
    # her name the one on her commit, and her packet counts her one commit (the dashboard's Promotion case shows it).
    from impactlens.evidence.tables import resolve_person
    from builders import add_commit

    add_commit(con, "d" * 40, "Dee@Example.com", "2026-03-04T10:00:00Z", repo="tool")
    assert con.sql("SELECT count(*) FROM identities").fetchall()[0][0] == 0
    assert resolve_person(con, "dee@example.com") == ("email:dee@example.com", "Dee")
    assert resolve_person(con, "email:dee@example.com") == ("email:dee@example.com", "Dee")
    packet = build_packet(con, "dee@example.com", date(2026, 3, 1), date(2026, 3, 31), charts=False)
    assert "Commits landed: 1 commit" in packet.to_markdown()
    with pytest.raises(Exception, match="no person, login, email or name 'eve@example.com'"):
        resolve_person(con, "eve@example.com")
