"""The notebooks run top to bottom on the demo organisation, and are kept in git without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def test_both_notebooks_are_there():
    assert {n.name for n in NOTEBOOKS} == {"self_audit.ipynb", "team_review.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} has outputs: clear them before committing (Jupyter: Edit > Clear All Outputs)"
            )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from impactlens import demo

    path, _ = demo.ensure(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    return path


def execute(path: Path, db: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("IMPACTLENS_DB", str(db))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def text_of(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
    return "".join(parts)


def charts_of(notebook) -> list[str]:
    """The HTML of each Altair chart shown (Altair's default renderer embeds the Vega-Lite spec in it)."""
    return [
        output["data"]["text/html"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {}) and "vegaEmbed" in output["data"]["text/html"]
    ]


def test_self_audit_runs_on_the_demo_and_shows_the_mentor_story(demo_db, monkeypatch):
    from impactlens import demo

    notebook = execute(NOTEBOOKS[0], demo_db, monkeypatch)
    text = text_of(notebook)
    mentees = demo.DEMO_STORIES["mentoring"]["mentees"]
    assert "Auditing maya-okafor" in text
    assert "Mentoring:" in text and "mentees (at least three touchpoints)" in text
    top = text.split("Mentees with the most touchpoints: ", 1)[1].split("\n", 1)[0]
    first_two = {entry.split(" (")[0] for entry in top.split(", ")[:2]}
    assert first_two == set(mentees)
    [chart] = charts_of(notebook)
    assert '"title": "maya-okafor: PRs merged and reviews given per month"' in chart
    assert '"title": "Month (UTC)"' in chart


def test_team_review_runs_on_the_demo_and_ends_with_what_moved(demo_db, monkeypatch):
    notebook = execute(NOTEBOOKS[1], demo_db, monkeypatch)
    text = text_of(notebook)
    assert "Team web, week of 2026-10-26" in text
    assert "Review load Gini by month" in text
    last_table = [c for c in notebook.cells if c.cell_type == "code"][-2].outputs[-1]["data"]["text/plain"]
    assert "size_of_move" in last_table
    # The one "what moved" (evidence.team_review.what_moved): the week against the mean of the 4 weeks before.
    assert "baseline" in last_table and "PRs merged" in last_table
    [chart] = charts_of(notebook)
    assert '"title": "Time to first review (hours)"' in chart
