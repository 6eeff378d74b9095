"""`impactlens report` and `impactlens note add` as a user runs them, on the hand-built organisation of
test_evidence_claims written to a real warehouse file (read read-only by the command)."""

from __future__ import annotations

import json

import pytest

from helpers import impactlens
from impactlens import warehouse
from test_evidence_claims import build_world


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("wh") / "impactlens.duckdb"
    con = warehouse.open_for_write(path)
    build_world(con)
    con.execute("CHECKPOINT")
    con.close()
    return str(path)


def test_report_person_json_to_stdout(db):
    result = impactlens("report", "--person", "ada", "--since", "2024-03-01", "--until", "2024-03-31",
                        "--format", "json", "--db", db)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "ada" and data["rubric_name"] == "Senior engineer (impactlens default)"
    assert data["charts"] == []  # no charts for stdout JSON (nothing to save them beside)


def test_report_person_markdown_file_with_charts_rubric_and_brag(db, tmp_path):
    brag = tmp_path / "brag.md"
    added = impactlens("note", "add", "Mentored bob through his first on-call week.", "--section", "mentoring",
                       "--date", "2024-03-20", "--link", "acme/api#2", "--file", str(brag))
    assert added.returncode == 0, added.stderr
    assert "added 2024-03-20 · mentoring" in added.stdout
    rubric = tmp_path / "ladder.yaml"
    rubric.write_text("name: Acme\nexpectations:\n  - id: m\n    title: Mentors\n    section: mentoring\n"
                      "    evidence:\n      - figure: mentees\n")
    out = tmp_path / "packet" / "ada.md"
    result = impactlens("report", "--person", "ada", "--since", "2024-03-01", "--until", "2024-03-31", "--out",
                        str(out), "--rubric", str(rubric), "--brag", str(brag), "--db", db)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "## Rubric audit: Acme" in text and "| Mentors | evidenced |" in text
    assert "*Self-reported, 2024-03-20:* Mentored bob through his first on-call week." in text
    assert "[acme/api#2 (PR 2)](https://github.com/acme/api/pull/2)" in text
    assert (out.parent / "ada-activity.png").exists() and (out.parent / "ada-delivery.png").exists()


def test_report_team_html(db, tmp_path):
    out = tmp_path / "core.html"
    result = impactlens("report", "--team", "core", "--week", "2024-W11", "--format", "html", "--out", str(out),
                        "--db", db)
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert "Team health review: Core, 2024-W11" in page and "<svg" in page


@pytest.mark.parametrize("args, message", [
    (["--person", "zed", "--since", "2024-03-01"], "no person, login, email or name 'zed'"),
    (["--person", "ada"], "--since is required"),
    (["--person", "ada", "--team", "core"], "either --person"),
    (["--person", "ada", "--since", "March"], "--since 'March' is not a date"),
    (["--person", "ada", "--since", "2024-03-01", "--format", "pdf"], "--format must be one of md, html, json"),
    (["--team", "ops", "--week", "2024-W11"], "no team 'ops'"),
    (["--team", "core"], "--week is required"),
    (["--demo", "--person", "ada", "--since", "2024-03-01"], "give --demo or --db, not both"),
])
def test_report_user_errors_are_one_line_and_exit_2(db, args, message):
    result = impactlens("report", *args, "--db", db)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_malformed_rubric_names_its_line(db, tmp_path):
    rubric = tmp_path / "bad.yaml"
    rubric.write_text("expectations:\n  - id: a\n    title: A\n    section: mentoring\n    evidence:\n"
                      "      - claim: nope\n")
    result = impactlens("report", "--person", "ada", "--since", "2024-03-01", "--rubric", str(rubric), "--db", db)
    assert result.returncode == 2
    assert f"{rubric} line 6: unknown claim 'nope'" in result.stderr


def test_missing_warehouse_is_a_clear_error(tmp_path):
    result = impactlens("report", "--person", "ada", "--since", "2024-03-01", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2 and "no warehouse at" in result.stderr


def test_note_add_rejects_unknown_section(tmp_path):
    result = impactlens("note", "add", "x", "--section", "golf", "--file", str(tmp_path / "b.md"))
    assert result.returncode == 2 and "unknown section 'golf'" in result.stderr
    assert not (tmp_path / "b.md").exists()
