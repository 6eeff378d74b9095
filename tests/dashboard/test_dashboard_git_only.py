"""The dashboard on a git-only warehouse collected from a real repository built here (issue 16: who counts, no
silent substitution, honest comparisons), through streamlit.testing.v1.AppTest, and the self-audit notebook
with a person who does not exist.

The history (all times UTC), worked by hand:

* Ada Lovelace (ada@example.com): 2025-03-03 and 03-10 (before the period), then every Monday from 04-07 to
  05-26 (8 commits) and 06-27 (the last day of the data): 9 commits in the period. Her commits of 04-14 and
  05-12 carry "Co-authored-by: Grace Hopper": the two are long-standing peers.
* Grace Hopper (grace@example.com): 2025-03-17, then 04-08, 05-13 (co-authored by Ada) and 06-10: 3 in the period.
* "=" <=>: one commit on 2025-05-20: a junk identity (as in pallets/flask's history).
* The roster puts Ada and Grace in team Core (people import).

Default period: 13 weeks ending on the last day, 2025-03-31 .. 2025-06-27 (89 days); the previous period
2025-01-01 .. 2025-03-30 (89 days). The data begins on 2025-03-03, so the previous period is covered on
28 of 89 days = 31%: no change may be shown against it.
People active in the period: Ada, Grace and "=" (3); in Core, 2 of 2.
Week of 2025-05-12 against the week of 05-05: Core's commits 2 (Ada 05-12, Grace 05-13) against 1 (Ada 05-05):
3 commits in both weeks together, fewer than the rule's minimum of 5: shown, not flagged.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import impactlens
from impactlens import warehouse

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ADA, GRACE, JUNK = "Ada Lovelace <ada@example.com>", "Grace Hopper <grace@example.com>", "= <=>"


@pytest.fixture(scope="module")
def git_db(tmp_path_factory) -> Path:
    from conftest import GitRepo

    root = tmp_path_factory.mktemp("gitonly")
    repo = GitRepo(root / "tool")
    n = 0

    def commit(author: str, day: str, message: str, co: str | None = None) -> None:
        nonlocal n
        n += 1
        repo.write(f"src/file{n}.py", f"x = {n}\n")
        body = f"{message}\n\nCo-authored-by: {co}\n" if co else message
        repo.commit(body, author=author, date=f"{day}T10:00:00+00:00")

    commit(ADA, "2025-03-03", "Start the tool")
    commit(ADA, "2025-03-10", "Parse the config")
    commit(GRACE, "2025-03-17", "Write the docs")
    for day in ("2025-04-07", "2025-04-14", "2025-04-21", "2025-04-28", "2025-05-05", "2025-05-12", "2025-05-19",
                "2025-05-26"):
        commit(ADA, day, f"Work of {day}", co=GRACE if day in ("2025-04-14", "2025-05-12") else None)
    commit(GRACE, "2025-04-08", "Faster parser")
    commit(GRACE, "2025-05-13", "Cache", co=ADA)
    commit(JUNK, "2025-05-20", "Fix typo")
    commit(GRACE, "2025-06-10", "Tidy")
    commit(ADA, "2025-06-27", "Release")
    db = root / "git.duckdb"
    assert impactlens("collect", "git", str(repo.path), "--db", str(db)).returncode == 0
    roster = root / "roster.yaml"
    roster.write_text(
        "- name: Ada Lovelace\n  id: ada\n  email: ada@example.com\n  teams:\n    - {team: core, from: 2024-01-01}\n"
        "- name: Grace Hopper\n  id: grace\n  email: grace@example.com\n  teams:\n    - {team: core, from: 2024-01-01}\n")
    imported = impactlens("people", "import", str(roster), "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    con = warehouse.read_only(db)
    try:  # Core's display name as the roster wrote it
        con.sql("SELECT * FROM teams").fetchall()
    finally:
        con.close()
    return db


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    def make(db: Path, query: dict[str, str] | None = None) -> AppTest:
        monkeypatch.setenv(warehouse.DB_ENV, str(db))
        monkeypatch.chdir(tmp_path)  # no impactlens.toml unless the test writes one
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.query_params.update(query or {})
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return make


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.title, *at.subheader, *at.warning, *at.error)]
    parts += [m.label + " " + m.value for m in at.metric]
    return "\n".join(str(p) for p in parts)


def metrics_of(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.delta) for m in at.metric}


def chart_titles(at: AppTest) -> list[str]:
    out = []
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec).get("title")
        out.append(title.get("text") if isinstance(title, dict) else title)
    return out


def test_no_default_person_and_the_junk_identity_is_marked_last(app, git_db):
    at = app(git_db)
    picker = at.selectbox(key="my_impact_person")
    assert picker.value is None  # not "=", which sorts first
    assert picker.options == ["Ada Lovelace", "Grace Hopper", "= (junk identity: email:=)"]
    assert "Choose a person to see their figures" in texts(at)
    assert not at.metric


def test_the_junk_identity_has_no_promotion_case_and_the_page_says_why(app, git_db):
    at = app(git_db, {"person": "email:="})
    at.switch_page("promotion_case.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.subheader and not at.get("download_button")  # no packet, and no figures built in its place
    shown = texts(at)
    assert "No evidence packet for =:" in shown and "is a junk identity (email:=" in shown, shown


def test_the_configured_identity_opens_my_impact(app, git_db, tmp_path):
    (tmp_path / "impactlens.toml").write_text('[dashboard]\nme = "grace@example.com"\n')
    at = app(git_db)
    assert at.selectbox(key="my_impact_person").value == "grace"
    assert metrics_of(at)["Commits"][0] == "3"


def test_a_previous_period_the_data_covers_in_part_shows_no_change(app, git_db):
    at = app(git_db, {"person": "ada@example.com"})
    assert at.selectbox(key="my_impact_person").value == "ada"
    value, delta = metrics_of(at)["Commits"]
    assert (value, delta) == ("9", "")  # no "+350% vs 2"
    assert "vs 2 (previous period only 31% covered by commits: no comparison)" in [c.value for c in at.caption]
    # Git only: commits per week instead of empty PR charts.
    assert chart_titles(at) == ["Commits per week"]
    assert "12 commits" not in texts(at)
    assert ("9 commits over 13 weeks, in 9 weeks with at least one (about 0.7 a week)." in
            [c.value for c in at.caption])
    assert any("No pull requests collected: `impactlens collect github OWNER/REPO` adds them" in i.value
               for i in at.info)


def test_an_unknown_person_in_the_url_is_an_error_not_someone_else(app, git_db):
    at = app(git_db, {"person": "nobody-here"})
    assert at.error and "?person=nobody-here" in at.error[0].value
    assert at.selectbox(key="my_impact_person").value is None
    assert not at.metric
    at = goto(at, "promotion_case.py")
    assert "?person=nobody-here" in at.error[0].value and at.selectbox(key="promotion_person").value is None


def test_an_unknown_team_in_the_url_is_an_error_not_the_organisation(app, git_db):
    at = app(git_db, {"team": "cor"})
    assert at.error[0].value.startswith("No team 'cor' in the warehouse (did you mean core?)")
    assert not at.title  # the page stopped: no organisation figures in the team's place
    at = app(git_db, {"team": "Core"})  # a team's name works as well as its id
    assert at.selectbox(key="team").value == "core"


def test_a_person_outside_the_chosen_team_is_a_notice(app, git_db):
    at = app(git_db, {"person": "="})
    at.selectbox(key="my_impact_person").set_value("email:=").run()
    at.selectbox(key="team").set_value("core").run()
    assert at.selectbox(key="my_impact_person").value is None
    assert any("(email:=) was not in core in this period" in w.value for w in at.warning)


def test_team_health_counts_active_humans_and_compares_weeks_honestly(app, git_db):
    at = goto(app(git_db), "team_health.py")
    shown = texts(at)
    assert "The organisation · 3 people active in 31 Mar 2025 – 27 Jun 2025 (89 days)" in shown
    assert "No pull requests collected: `impactlens collect github OWNER/REPO` adds them" in shown
    assert not {"PR size trend", "Time to first review", "Cycle time by phase", "Open PRs by age"} & set(chart_titles(at))
    at.selectbox(key="team").set_value("core").run()
    at = goto(at, "team_health.py")
    assert "core · 2 of 2 team members active in" in texts(at)
    at.selectbox(key="team_week").set_value(date(2025, 5, 12)).run()
    shown = texts(at)
    assert "no activity in this week" not in shown
    # Against the mean of the 4 weeks before (14 Apr .. 11 May: Ada's 04-14, 04-21, 04-28, 05-05; Grace's 04-08
    # falls in the week before them): 4 / 4 = 1 a week. 2 against 4 at exposure 1/4: X ~ Binomial(6, 1/5),
    # P(X >= 2) = 1 - 0.8^6 - 6 * 0.2 * 0.8^5 = 0.34464 < P(X <= 2) = 0.90112, p = 2 * 0.34464 = 0.69.
    assert metrics_of(at)["Commits"] == ("2", "+100% vs 1")
    assert "Maybe noise: not significant: p = 0.69 (exact Poisson test)" in [c.value.split(" · ")[-1]
                                                                               for c in at.caption]
    assert "⚑ Commits" not in metrics_of(at)


def test_the_self_audit_notebook_refuses_a_person_who_is_not_there(git_db, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(__file__).resolve().parents[2] / "notebooks" / "self_audit.ipynb"
    notebook = nbformat.read(path, as_version=4)
    params = next(c for c in notebook.cells if c.cell_type == "code")
    params.source = params.source.replace('PERSON = "maya-okafor"', 'PERSON = "nobody-here"')
    monkeypatch.setenv("IMPACTLENS_DB", str(git_db))
    with pytest.raises(CellExecutionError) as err:
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    assert "EvidenceError" in str(err.value) and "nobody-here" in str(err.value)
