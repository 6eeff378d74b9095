"""The dashboard through streamlit.testing.v1.AppTest: every page on a small hand-built warehouse whose figures
are worked out by hand below, empty states, reload after a collection, downloads and chart specs; and every page
on the demo organisation."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.runtime.media_file_manager import MediaFileManager

from impactlens import warehouse

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGES = ("my_impact.py", "promotion_case.py", "team_health.py")

# ---------------------------------------------------------------------------- the small warehouse
#
# Period under test (the default: 13 weeks ending on the last day with data, 2026-11-20, from the Monday
# 12 weeks before that day's week): 2026-08-24 .. 2026-11-20 (89 days); previous period 2026-05-27 .. 2026-08-23.
#
# Alice (core) authors PRs 1-3 in the period and PR 4 in the previous one; Bob (core) reviews 1, 2 and 4 and
# has PR 5 open and never reviewed; Carol (web) reviews 3; dependabot opens PR 6 and the AI reviewer reviews
# PR 2 within minutes (neither may count). By hand:
#   Alice, period:   PRs merged 3 (previous 1: +200%); sizes 30, 200, 500 -> median 200 lines (previous 50);
#                    time to first review 4 h, 10 h, 2 h -> median 4.0 h (previous 8 h: -50%);
#                    incidents led 1, restored in 3 h; artifacts 1 (docs/adr/0001-use-duckdb.md).
#   Bob, period:     reviews given 2 (PRs 1 and 2), PRs merged 0; previous period 1 review.
# Carol's PR 8 and Alice's review of it (1-2 May 2026, before both periods) make PR and review data begin before
# the previous period, so its changes may be shown (docs/metrics.md "Comparisons").

SETUP = """
INSERT INTO repositories (repo_id, name, owner, url) VALUES ('acme/api', 'api', 'acme', 'https://github.com/acme/api');
INSERT INTO teams VALUES ('core', 'Core', NULL), ('web', 'Web', NULL);
INSERT INTO people (person_id, display_name, title, level, start_date, is_bot, bot_kind) VALUES
  ('alice', 'Alice Adams', 'Senior Engineer', 'E5', DATE '2024-01-01', false, NULL),
  ('bob', 'Bob Brown', 'Software Engineer', 'E4', DATE '2024-01-01', false, NULL),
  ('carol', 'Carol Chen', 'Software Engineer', 'E4', DATE '2024-01-01', false, NULL);
INSERT INTO identities (identity_id, kind, value, display_name, person_id, is_bot, bot_kind, source) VALUES
  ('github_login:alice', 'github_login', 'alice', 'Alice Adams', 'alice', false, NULL, 'test'),
  ('email:alice@acme.io', 'email', 'alice@acme.io', 'Alice Adams', 'alice', false, NULL, 'test'),
  ('github_login:bob', 'github_login', 'bob', 'Bob Brown', 'bob', false, NULL, 'test'),
  ('github_login:carol', 'github_login', 'carol', 'Carol Chen', 'carol', false, NULL, 'test'),
  ('github_login:dependabot[bot]', 'github_login', 'dependabot[bot]', 'dependabot[bot]', NULL, true, 'bot', 'test'),
  ('github_login:coderabbitai[bot]', 'github_login', 'coderabbitai[bot]', 'coderabbitai[bot]', NULL, true, 'ai_reviewer', 'test');
INSERT INTO team_memberships VALUES ('alice', 'core', DATE '2024-01-01', NULL, NULL),
  ('bob', 'core', DATE '2024-01-01', NULL, NULL), ('carol', 'web', DATE '2024-01-01', NULL, NULL);
INSERT INTO pull_requests (repo_id, number, title, author_login, author_is_bot, state, created_at, merged_at,
                           closed_at, additions, deletions, url) VALUES
  ('acme/api', 1, 'Add the order store', 'alice', false, 'closed', '2026-10-05 09:00+00', '2026-10-06 09:00+00', '2026-10-06 09:00+00', 20, 10, 'https://github.com/acme/api/pull/1'),
  ('acme/api', 2, 'Retry webhooks', 'alice', false, 'closed', '2026-10-12 09:00+00', '2026-10-14 09:00+00', '2026-10-14 09:00+00', 100, 100, 'https://github.com/acme/api/pull/2'),
  ('acme/api', 3, 'Cache search results', 'alice', false, 'closed', '2026-11-02 09:00+00', '2026-11-03 09:00+00', '2026-11-03 09:00+00', 400, 100, 'https://github.com/acme/api/pull/3'),
  ('acme/api', 4, 'Old change', 'alice', false, 'closed', '2026-07-01 09:00+00', '2026-07-02 09:00+00', '2026-07-02 09:00+00', 30, 20, 'https://github.com/acme/api/pull/4'),
  ('acme/api', 5, 'Bob waits', 'bob', false, 'open', '2026-10-20 09:00+00', NULL, NULL, 5, 5, 'https://github.com/acme/api/pull/5'),
  ('acme/api', 6, 'Bump duckdb', 'dependabot[bot]', true, 'closed', '2026-10-21 09:00+00', '2026-10-21 10:00+00', '2026-10-21 10:00+00', 1, 1, 'https://github.com/acme/api/pull/6'),
  ('acme/api', 8, 'Early work', 'carol', false, 'closed', '2026-05-01 09:00+00', '2026-05-02 09:00+00', '2026-05-02 09:00+00', 3, 3, 'https://github.com/acme/api/pull/8');
INSERT INTO reviews (repo_id, review_id, pr_number, reviewer_login, reviewer_is_bot, state, submitted_at, url) VALUES
  ('acme/api', 'r1', 1, 'bob', false, 'APPROVED', '2026-10-05 13:00+00', 'https://github.com/acme/api/pull/1#pullrequestreview-1'),
  ('acme/api', 'r2ai', 2, 'coderabbitai[bot]', true, 'COMMENTED', '2026-10-12 09:05+00', NULL),
  ('acme/api', 'r2', 2, 'bob', false, 'CHANGES_REQUESTED', '2026-10-12 19:00+00', 'https://github.com/acme/api/pull/2#pullrequestreview-2'),
  ('acme/api', 'r3', 3, 'carol', false, 'APPROVED', '2026-11-02 11:00+00', 'https://github.com/acme/api/pull/3#pullrequestreview-3'),
  ('acme/api', 'r4', 4, 'bob', false, 'APPROVED', '2026-07-01 17:00+00', 'https://github.com/acme/api/pull/4#pullrequestreview-4'),
  ('acme/api', 'r8', 8, 'alice', false, 'APPROVED', '2026-05-01 17:00+00', 'https://github.com/acme/api/pull/8#pullrequestreview-8');
INSERT INTO incidents (incident_id, source, external_id, repo_id, title, severity, status, opened_at, resolved_at,
                       commander, responders, url) VALUES
  ('pd:1', 'pagerduty', '1', 'acme/api', 'Checkout errors', 'SEV2', 'resolved', '2026-10-10 10:00+00',
   '2026-10-10 13:00+00', 'alice', ['bob'], 'https://acme.pagerduty.com/incidents/1');
INSERT INTO deployments (deployment_id, source, repo_id, environment, is_production, sha, created_at, status) VALUES
  ('d1', 'github', 'acme/api', 'production', true, 'a1', '2026-10-06 12:00+00', 'success'),
  ('d2', 'github', 'acme/api', 'production', true, 'a2', '2026-10-14 12:00+00', 'success'),
  ('d3', 'github', 'acme/api', 'production', true, 'a3', '2026-11-03 12:00+00', 'success');
INSERT INTO commits (repo_id, sha, author_name, author_email, authored_at, author_utc_offset_minutes, committed_at,
                     committer_utc_offset_minutes, subject, body, parent_shas, is_merge, insertions, deletions,
                     files_changed) VALUES
  ('acme/api', 'c0ffee0000000000000000000000000000000001', 'Alice Adams', 'alice@acme.io', '2026-10-07 10:00+00', 0,
   '2026-10-07 10:00+00', 0, 'ADR: use DuckDB', '', [], false, 40, 0, 1),
  ('acme/api', 'c0ffee0000000000000000000000000000000002', 'Alice Adams', 'alice@acme.io', '2026-11-20 10:00+00', 0,
   '2026-11-20 10:00+00', 0, 'Tidy', '', [], false, 2, 2, 1);
INSERT INTO commit_files (repo_id, sha, path, change_type, additions, deletions, is_binary, category) VALUES
  ('acme/api', 'c0ffee0000000000000000000000000000000001', 'docs/adr/0001-use-duckdb.md', 'A', 40, 0, false, 'adr'),
  ('acme/api', 'c0ffee0000000000000000000000000000000002', 'src/app.py', 'M', 2, 2, false, 'code');
"""

GIT_ONLY = """
INSERT INTO commits (repo_id, sha, author_name, author_email, authored_at, author_utc_offset_minutes, committed_at,
                     committer_utc_offset_minutes, subject, body, parent_shas, is_merge, insertions, deletions,
                     files_changed) VALUES
  ('tool', 'abcdef1234567890abcdef1234567890abcdef12', 'Dee Diaz', 'dee@example.com', '2026-10-07 10:00+00', 0,
   '2026-10-07 10:00+00', 0, 'Parse the config', '', [], false, 10, 2, 1);
"""


def build(path: Path, sql: str) -> Path:
    con = warehouse.open_for_write(path)
    try:
        con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    return build(tmp_path / "small.duckdb", SETUP)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch):
    """Factory: an AppTest of the dashboard on a warehouse (through $IMPACTLENS_DB), run once."""

    def make(db: Path, query: dict[str, str] | None = None) -> AppTest:
        monkeypatch.setenv(warehouse.DB_ENV, str(db))
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.query_params.update(query or {})
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list[MediaFileManager]:
    """The media file managers AppTest creates (one per run), so a test can read what a download serves."""
    made: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    return made


def downloaded(button, managers: list[MediaFileManager]) -> bytes:
    """The bytes a download button serves (stored, or produced by its deferred callable)."""
    manager = managers[-1]
    proto = button.proto
    if proto.HasField("deferred_file_id"):
        url = manager.execute_deferred(proto.deferred_file_id)
    else:
        url = proto.url
    content = manager._storage.get_file(url.rsplit("/", 1)[-1]).content
    return content if isinstance(content, bytes) else content.encode()


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


_CELL_SPLIT = re.compile(r"(?<!\\) \| ")
_LINK = re.compile(r"^\[(.*)\]\((.*)\)$")


def tables(at: AppTest) -> list[list[dict[str, str]]]:
    """The record tables on the page (Markdown tables of ui.link_table), each a list of rows: header -> cell as
    shown (escapes undone; a link cell is its text)."""
    found = []
    for element in at.markdown:
        lines = element.value.splitlines()
        if len(lines) < 2 or not lines[0].startswith("| ") or not lines[1].startswith("| --- |"):
            continue
        header = [plain(c) for c in _CELL_SPLIT.split(lines[0][2:-2])]
        found.append([dict(zip(header, (plain(c) for c in _CELL_SPLIT.split(line[2:-2])))) for line in lines[2:]])
    return found


def links(at: AppTest, column: str) -> list[str]:
    """The addresses the cells of ``column`` of the page's first record table link to ("" for a cell without)."""
    out = []
    for element in at.markdown:
        lines = element.value.splitlines()
        if len(lines) < 2 or not lines[0].startswith("| ") or not lines[1].startswith("| --- |"):
            continue
        header = [plain(c) for c in _CELL_SPLIT.split(lines[0][2:-2])]
        for line in lines[2:]:
            cell = _CELL_SPLIT.split(line[2:-2])[header.index(column)]
            hit = _LINK.match(cell)
            out.append(hit.group(2) if hit else "")
        return out
    raise AssertionError("no record table on the page")


def plain(cell: str) -> str:
    """A Markdown cell as read: a link's text, backslash escapes undone."""
    hit = _LINK.match(cell.strip())
    return re.sub(r"\\(.)", r"\1", hit.group(1) if hit else cell.strip())


def open_tab(at: AppTest, name: str) -> AppTest:
    """Open My impact's records tab ``name`` (labelled "name (count)"), as a click on it does, and rerun."""
    labels = [tab.label for tab in at.tabs]
    label = next(label for label in labels if label.startswith(f"{name} ("))
    at.session_state["my_impact_tab"] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics_of(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.delta) for m in at.metric}


def specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def chart_rows(at: AppTest, title: str) -> int:
    """Rows of data behind the chart titled ``title`` (Arrow dataset of the Vega-Lite spec)."""
    import pyarrow as pa

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if _title(spec) == title:
            datasets = list(chart.proto.datasets) or [chart.proto.data]
            return sum(pa.ipc.open_stream(d.data.data).read_all().num_rows for d in datasets)
    raise AssertionError(f"no chart titled {title!r}: {[_title(s) for s in specs(at)]}")


def _title(spec: dict) -> str:
    title = spec.get("title")
    return title.get("text") if isinstance(title, dict) else title


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.title, *at.subheader, *at.warning)]
    parts += [m.label + " " + m.value for m in at.metric]
    return "\n".join(str(p) for p in parts)


# ---------------------------------------------------------------------------- My impact


def test_my_impact_headline_figures_match_hand_computed_values(app, small_db):
    at = app(small_db, {"person": "alice"})
    assert at.selectbox(key="my_impact_person").value == "alice"
    figures = metrics_of(at)
    assert figures["PRs merged"] == ("3", "+200% vs 1")
    assert figures["Median PR size"] == ("200 lines", "+300% vs 50 lines")
    assert figures["Time to first review"] == ("4.0 h", "-50% vs 8.0 h")  # the AI reviewer's 5 minutes do not count
    assert figures["Incidents led"][0] == "1"
    assert figures["MTTR of incidents led"][0] == "3.0 h"
    assert figures["Artifacts authored"][0] == "1"
    captions = [c.value for c in at.caption]
    assert "3 merged PRs (previous: 1)" in captions  # the count behind the median, next to it
    assert any("Core (2 people)" in m.value for m in at.markdown)  # team size as context


def test_my_impact_lists_link_to_github(app, small_db):
    at = app(small_db, {"person": "alice"})
    assert [tab.label for tab in at.tabs] == ["Pull requests (3)", "Reviews given (0)", "Incidents (1)",
                                              "Artifacts (1)", "Mentoring (0)"]
    assert len(tables(at)) == 1  # only the open tab's table is sent: the others' bodies do not run
    assert links(at, "Pull request") == [f"https://github.com/acme/api/pull/{n}" for n in (3, 2, 1)]  # newest first
    prs = tables(at)[0]
    assert [r["Pull request"] for r in prs] == [f"acme/api/pull/{n}" for n in (3, 2, 1)]
    assert prs[0]["Created at"] == "2 Nov 2026, 09:00" and prs[0]["Time to first review"] == "2.0 h"
    assert [r["Changed lines"] for r in prs] == ["500", "200", "30"]
    open_tab(at, "Reviews given")
    assert not tables(at)  # no table for none
    assert "No reviews given by this person in this period." in [i.value for i in at.info]
    open_tab(at, "Incidents")
    assert len(tables(at)) == 1
    assert links(at, "Incident") == ["https://acme.pagerduty.com/incidents/1"]
    assert [r["Role"] for r in tables(at)[0]] == ["commander"]
    assert tables(at)[0][0]["Time to restore"] == "3.0 h"
    open_tab(at, "Artifacts")
    assert [r["File"] for r in tables(at)[0]] == ["docs/adr/0001-use-duckdb.md"]
    # Another person keeps the open tab (its count changes): Bob wrote no artifact.
    at.selectbox(key="my_impact_person").set_value("bob").run()
    assert at.session_state["my_impact_tab"] == "Artifacts (0)"
    assert not tables(at)
    assert any(i.value.startswith("No ADRs, design docs") for i in at.info)


def test_my_impact_pull_requests_sort_by_the_box(app, small_db):
    at = app(small_db, {"person": "alice"})

    def order() -> list[str]:
        return [r["Pull request"] for r in tables(at)[0]]
    assert order() == ["acme/api/pull/3", "acme/api/pull/2", "acme/api/pull/1"]  # newest first
    at.selectbox(key="my_impact_pr_sort").set_value("Longest wait for a first review").run()
    assert order() == ["acme/api/pull/2", "acme/api/pull/1", "acme/api/pull/3"]  # 10 h, 4 h, 2 h
    at.selectbox(key="my_impact_pr_sort").set_value("Oldest first").run()
    assert order() == ["acme/api/pull/1", "acme/api/pull/2", "acme/api/pull/3"]


def test_record_cells_link_only_web_addresses_and_escape_markdown():
    from datetime import datetime, timezone

    from impactlens.dashboard import ui

    assert ui._cell("https://github.com/acme/api/pull/7", link=True) == "[acme/api/pull/7](https://github.com/acme/api/pull/7)"
    assert ui._cell("javascript:alert(1)", link=True) == "–"  # never a link
    assert ui._cell("Fix [this](https://evil.example) | now", link=False) == r"Fix \[this\](https://evil.example) \| now"
    assert ui._cell(datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc), date=True) == "5 Oct 2026, 09:00"
    assert ui._cell(3.25, hours=True) == "3.2 h"
    assert ui._cell(None) == "–" and ui._cell(True) == "yes" and ui._cell(1234) == "1,234"


def test_the_benchmark_counts_the_cells_of_markdown_record_tables():
    from streamlit.proto.Element_pb2 import Element

    from impactlens.dashboard import browser

    table = Element()
    table.markdown.body = "| Pull request | Title |\n| --- | --- |\n| [a/b/pull/1](https://x.io/a/b/pull/1) | One |\n| – | Two |"
    assert browser._element_size(table) == (0, 4)  # 2 rows × 2 columns
    prose = Element()
    prose.markdown.body = "Just | a sentence"
    assert browser._element_size(prose) == (0, 0)


def test_widgets_change_what_my_impact_shows(app, small_db):
    at = app(small_db, {"person": "alice"})
    at.selectbox(key="my_impact_person").set_value("bob").run()
    figures = metrics_of(at)
    assert figures["PRs merged"][0] == "0"
    assert figures["Reviews given"] == ("2", "+100% vs 1")
    prs = tables(at)[0]  # Bob has no PR merged in the period but an open one created in it
    assert {r["Title"] for r in prs} == {"Bob waits"}

    # A date range that ends before October leaves Alice nothing in the period.
    at.selectbox(key="my_impact_person").set_value("alice").run()
    at.date_input(key="period").set_value((date(2026, 8, 24), date(2026, 9, 30))).run()
    assert metrics_of(at)["PRs merged"][0] == "0"

    # The team filter limits the person picker to the team's members.
    at.selectbox(key="team").set_value("web").run()
    assert at.selectbox(key="my_impact_person").options == ["Carol Chen · Software Engineer"]


def test_my_impact_charts_have_titles_axis_units_and_one_row_per_week(app, small_db):
    at = app(small_db, {"person": "alice"})
    charts = {_title(s): s for s in specs(at)}
    activity = charts["PRs merged and reviews given per week"]
    assert activity["encoding"]["y"]["title"] == "Count per week"
    assert activity["encoding"]["x"]["axis"]["title"] == "Week (UTC, starting Monday)"
    # 13 weeks (24 Aug .. 16 Nov 2026) x 2 series.
    assert chart_rows(at, "PRs merged and reviews given per week") == 26
    size = charts["Median PR size per week"]
    assert size["encoding"]["y"]["title"] == "Median changed lines per PR"
    assert chart_rows(at, "Median PR size per week") == 3  # the three weeks with a merged PR
    readings = [c.value for c in at.caption]
    assert "3 PRs merged and 0 reviews given over 13 weeks (about 0.2 and 0.0 a week)." in readings


def test_bots_are_not_people(app, small_db):
    at = app(small_db)
    options = at.selectbox(key="my_impact_person").options
    assert options == ["Alice Adams · Senior Engineer", "Bob Brown · Software Engineer", "Carol Chen · Software Engineer"]


# ---------------------------------------------------------------------------- Promotion case


def test_promotion_case_shows_sections_and_downloads(app, small_db, media):
    at = goto(app(small_db, {"person": "alice"}), "promotion_case.py")
    headings = [h.value for h in at.subheader]
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Download Markdown", "Download HTML"}
    markdown = downloaded(buttons["Download Markdown"], media).decode()
    html = downloaded(buttons["Download HTML"], media).decode()
    assert "Alice Adams" in markdown and "Alice Adams" in html
    assert html.lstrip().lower().startswith("<!doctype html")
    # The evidence module's packet, nothing else (docs/architecture.md: the dashboard only displays).
    assert headings == ["Summary", "Scope and ownership", "Technical leadership", "Mentoring", "Operational excellence",
                        "Delivery outcomes", "Collaboration breadth", "Rubric audit: Senior engineer (impactlens default)",
                        "STAR stubs for the strongest claims"]
    assert "https://github.com/acme/api/pull/" in markdown
    assert "https://acme.pagerduty.com/incidents/1" in markdown
    assert "<a href='https://acme.pagerduty.com/incidents/1'" in html


def test_promotion_case_follows_the_person_picker(app, small_db, media):
    at = goto(app(small_db, {"person": "alice"}), "promotion_case.py")
    at.selectbox(key="promotion_person").set_value("carol").run()
    assert not at.exception
    buttons = {b.proto.label: b for b in at.get("download_button")}
    markdown = downloaded(buttons["Download Markdown"], media).decode()
    assert "Carol Chen" in markdown and "Alice Adams" not in markdown.split("\n", 1)[0]


def test_promotion_case_shows_the_packets_figures_and_records(app, small_db, media):
    # Alice (SETUP): led incident pd:1, wrote docs/adr/0001-use-duckdb.md, merged acme/api#1..#3, reviewed no one.
    at = goto(app(small_db, {"person": "alice"}), "promotion_case.py")
    shown = texts(at)
    assert "Incidents led: 1 incident (previous period: 0 incidents)" in shown
    assert "gave 0 reviews on others' PRs" in shown
    buttons = {b.proto.label: b for b in at.get("download_button")}
    markdown = downloaded(buttons["Download Markdown"], media).decode()
    assert "[acme/api#3 (Cache search results)](https://github.com/acme/api/pull/3)" in markdown
    assert "docs/adr/0001-use-duckdb.md (ADR: use DuckDB)](https://github.com/acme/api/blob/" in markdown
    assert "Incidents led: 1 incident (previous period: 0 incidents)" in markdown


# ---------------------------------------------------------------------------- Team health


def test_team_health_for_a_team_and_week(app, small_db):
    at = app(small_db)
    at.selectbox(key="team").set_value("core").run()
    at = goto(at, "team_health.py")
    assert at.title[0].value == "Team health: Core"
    week = at.selectbox(key="team_week")
    assert week.value == date(2026, 11, 9)  # the last week that ends inside the period
    at.selectbox(key="team_week").set_value(date(2026, 10, 12)).run()
    figures = metrics_of(at)
    # Week of 12 Oct against the mean of the 4 weeks before (14 Sep .. 11 Oct; docs/metrics.md "Comparisons"):
    # PR 2 (200 lines) merged this week, PR 1 (30 lines, week of 5 Oct) the only one before: the weekly medians'
    # mean is 30 lines, +567%, on one record each: too few to flag.
    assert figures["Median PR size"] == ("200 lines", "+567% vs 30 lines")
    assert "⚑ Median PR size" not in figures
    charts = {_title(s): s for s in specs(at)}
    assert {"PR size trend", "Time to first review", "Cycle time by phase",
            "Review load balance", "Deployments per week", "Incidents per week", "MTTR per week"} <= set(charts)
    for spec in charts.values():
        encoding = spec["encoding"]
        titles = [encoding[a].get("title") or encoding[a].get("axis", {}).get("title") for a in ("x", "y")]
        assert all(titles), (_title(spec), titles)
    # Bob's PR 5 (opened 20 Oct) is the only open PR at the end of the week of 19 Oct... not of 12 Oct:
    # a notice says so in place of an empty chart.
    assert "Open PRs by age" not in charts
    assert "Open PRs by age: no PR was open at the end of the week of 12 Oct 2026." in [i.value for i in at.info]
    at.selectbox(key="team_week").set_value(date(2026, 10, 19)).run()
    assert "Open PRs by age" in {_title(s) for s in specs(at)}
    assert "1 PR was open at the end of the week of 19 Oct 2026; 0 of them for more than a week." in [
        c.value for c in at.caption]


def test_team_health_ranks_no_one(app, small_db):
    at = app(small_db)
    at.selectbox(key="team").set_value("core").run()
    at = goto(at, "team_health.py")
    shown = texts(at)
    for name in ("Alice", "Bob", "Carol"):
        assert name not in shown
    import pyarrow as pa

    checked = 0
    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            columns = pa.ipc.open_stream(dataset.data.data).read_all().column_names
            assert not {"person_key", "reviewer_key", "author_key", "display_name"} & set(columns)
            checked += 1
    assert checked >= 8


# ---------------------------------------------------------------------------- empty states and reloads


def test_git_only_warehouse_shows_commits_and_says_how_to_collect_pull_requests(app, tmp_path):
    at = app(build(tmp_path / "git.duckdb", GIT_ONLY))
    # No default person: a chooser.
    assert at.selectbox(key="my_impact_person").value is None
    assert "Choose a person to see their figures" in texts(at)
    at.selectbox(key="my_impact_person").set_value("email:dee@example.com").run()
    shown = texts(at)
    assert "No pull requests (showing commits from git): run `impactlens collect github OWNER/REPO`." in shown
    commits = tables(at)[0]
    assert [r["Commit"] for r in commits] == ["abcdef1234"]
    at = goto(at, "team_health.py")
    shown = texts(at)
    assert "No deployments: run `impactlens collect github OWNER/REPO (GitHub deployments and releases)`." in shown
    assert "No incidents: run `impactlens collect incidents FILE`." in shown
    # Dee has no roster entry: her packet is built from her identity's commits.
    at = goto(at, "promotion_case.py")
    headings = [h.value for h in at.subheader]
    assert headings[:2] == ["Summary", "Scope and ownership"]
    assert any(h.startswith("Rubric audit") for h in headings)
    assert "Commits landed: 1 commit" in texts(at)


def test_missing_warehouse_says_what_to_run(app, tmp_path, monkeypatch):
    monkeypatch.setenv(warehouse.DB_ENV, str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert "impactlens demo" in at.error[0].value


def test_dashboard_sees_a_new_collection_without_restarting(app, small_db, tmp_path):
    at = app(small_db, {"person": "alice"})
    assert metrics_of(at)["PRs merged"][0] == "3"
    # A collection publishes a new file atomically (os.replace), as warehouse.writing does.
    staged = tmp_path / "staged.duckdb"
    shutil.copyfile(small_db, staged)
    con = warehouse.open_for_write(staged)
    con.execute(
        "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at, merged_at, additions, "
        "deletions, url) VALUES ('acme/api', 7, 'More', 'alice', 'closed', '2026-11-10 09:00+00', "
        "'2026-11-11 09:00+00', 1, 1, 'https://github.com/acme/api/pull/7')"
    )
    con.close()
    os.replace(staged, small_db)
    at.run()
    assert metrics_of(at)["PRs merged"][0] == "4"


def _publish(db: Path, tmp_path: Path, sql: str) -> None:
    """A collection's publication: a copy with ``sql`` applied replaces ``db`` atomically (os.replace)."""
    staged = tmp_path / "staged.duckdb"
    shutil.copyfile(db, staged)
    con = warehouse.open_for_write(staged)
    con.execute(sql)
    con.close()
    os.replace(staged, db)


def test_cached_figures_and_packets_follow_a_new_collection(app, small_db, tmp_path, media):
    # Every figure is cached per warehouse file (its inode, mtime and size): after a publication the pages show
    # the new data, on a page already drawn (Team health's open PRs, the Promotion case's packet).
    at = app(small_db, {"person": "alice"})
    at.selectbox(key="team").set_value("core").run()
    at = goto(at, "team_health.py")
    at.selectbox(key="team_week").set_value(date(2026, 10, 12)).run()
    assert "Open PRs by age: no PR was open at the end of the week of 12 Oct 2026." in [i.value for i in at.info]
    at = goto(at, "promotion_case.py")
    assert "acme/api#7" not in texts(at)
    # Bob opens PR 9 on 13 Oct (open at the end of that week: 1 PR); Alice's PR 7 merges on 11 Nov.
    _publish(small_db, tmp_path,
             "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at, merged_at, "
             "additions, deletions, url) VALUES ('acme/api', 7, 'More', 'alice', 'closed', '2026-11-10 09:00+00', "
             "'2026-11-11 09:00+00', 1, 1, 'https://github.com/acme/api/pull/7'), ('acme/api', 9, 'Bob again', "
             "'bob', 'open', '2026-10-13 09:00+00', NULL, 2, 2, 'https://github.com/acme/api/pull/9')")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "acme/api#7" in texts(at)  # the packet was built again on the new file
    at = goto(at, "team_health.py")
    at.selectbox(key="team_week").set_value(date(2026, 10, 12)).run()
    assert "Open PRs by age" in {_title(s) for s in specs(at)}
    assert "1 PR was open at the end of the week of 12 Oct 2026; 0 of them for more than a week." in [
        c.value for c in at.caption]


def test_the_warm_up_fills_the_entry_the_app_reads(app, small_db, tmp_path, monkeypatch):
    # `impactlens dashboard` reads the warehouse before Streamlit answers (impactlens.dashboard.serve): the first
    # page must find it, not read the file again; a later publication is read afresh.
    from impactlens.dashboard import serve, state

    monkeypatch.setattr("sys.argv", ["serve", "run", "app.py", "--", "--db", str(small_db)])
    monkeypatch.delenv("IMPACTLENS_CONFIG", raising=False)
    serve.warm()
    loads: list[str] = []
    real = state.load_warehouse
    monkeypatch.setattr(state, "load_warehouse", lambda path, config=None: loads.append(path) or real(path, config))
    at = app(small_db, {"person": "alice"})
    assert metrics_of(at)["PRs merged"][0] == "3" and loads == []
    _publish(small_db, tmp_path,
             "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at, merged_at, "
             "additions, deletions, url) VALUES ('acme/api', 7, 'More', 'alice', 'closed', '2026-11-10 09:00+00', "
             "'2026-11-11 09:00+00', 1, 1, 'https://github.com/acme/api/pull/7')")
    at.run()
    assert metrics_of(at)["PRs merged"][0] == "4" and len(loads) == 1


# ---------------------------------------------------------------------------- the demo organisation


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = pytest.importorskip("impactlens.demo")
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build(path)
    return path


def test_every_page_renders_the_demo_organisation(app, demo_db, media):
    at = app(demo_db, {"person": "maya-okafor"})
    for page in PAGES:
        at = goto(at, page)
        for spec in specs(at):
            assert _title(spec)
    # The mentor's story: her mentees are listed on My impact for the quarter after they joined.
    at = goto(at, "my_impact.py")
    at.date_input(key="period").set_value((date(2025, 9, 8), date(2025, 12, 14))).run()
    open_tab(at, "Mentoring")
    mentees = [t for t in tables(at) if "Touchpoints" in t[0]]
    assert {"Leo Park", "Sofia Marin"} <= {r["Person"] for r in mentees[0]}
    # Each row shows why it is (not) a mentee: three touchpoints or more over two weeks or more, as the caption says.
    for row in mentees[0]:
        rule = int(row["Touchpoints"]) >= 3 and int(row["Weeks with touchpoints"]) >= 2
        assert row["Mentee"] == ("yes" if rule else "no"), row
    assert any("spread over two weeks or more" in c.value for c in at.caption)


def test_demo_review_bottleneck_shows_in_web_team_health(app, demo_db):
    at = app(demo_db)
    at.selectbox(key="team").set_value("web").run()
    at = goto(at, "team_health.py")
    reading = [c.value for c in at.caption if c.value.startswith("In a typical week the busiest reviewer did")][0]
    share = int(reading.split("did ")[1].split("%")[0])
    assert share >= 35  # one reviewer does about half of Web's reviews (sample_data/README.md)


# ---------------------------------------------------------------------------- the command


def test_dashboard_command_fails_in_one_line_without_a_warehouse(tmp_path):
    from typer.testing import CliRunner

    from impactlens.cli import app as cli

    result = CliRunner().invoke(cli, ["dashboard", "--db", str(tmp_path / "none.duckdb"), "--no-browser"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no warehouse at" in result.output


def test_streamlit_command_passes_the_warehouse_after_the_double_dash(small_db, monkeypatch):
    from impactlens.commands.dashboard import app_path, check, streamlit_command
    from impactlens.dashboard import state

    command = streamlit_command(small_db, port=9123)
    assert command[1:4] == ["-m", "impactlens.dashboard.serve", "run"] and command[4] == str(app_path())
    assert command[-3:] == ["--", "--db", str(small_db)]
    assert command[command.index("--server.port") + 1] == "9123"
    assert command[command.index("--server.headless") + 1] == "true"
    assert check(small_db) == small_db.resolve()
    # The app reads the path back from its argv, else from $IMPACTLENS_DB.
    assert state.db_path(["--db", str(small_db)]) == small_db
    monkeypatch.setenv(warehouse.DB_ENV, "/elsewhere.duckdb")
    assert state.db_path([]) == Path("/elsewhere.duckdb")


def test_empty_warehouse_names_the_commands_on_every_page(app, tmp_path):
    at = app(build(tmp_path / "empty.duckdb", "SELECT 1"))
    assert "No people: run `impactlens collect git PATH`." in texts(at)
    at = goto(at, "promotion_case.py")
    assert "No people: run `impactlens collect git PATH`." in texts(at)
    at = goto(at, "team_health.py")
    assert "No pull requests: run `impactlens collect github OWNER/REPO`." in texts(at)


def test_dashboard_command_serves_on_a_machine_where_streamlit_never_ran(small_db, tmp_path):
    """No ~/.streamlit and no terminal: Streamlit must not stop at its first-run e-mail prompt."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from impactlens.commands.dashboard import free_port

    port = free_port(8600)
    home = tmp_path / "home"
    home.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "impactlens", "dashboard", "--db", str(small_db), "--port", str(port)],
        # BROWSER=true: the tab impactlens opens is the no-op command `true URL`.
        env={**os.environ, "HOME": str(home), "BROWSER": "true"}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        answered = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and not answered:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    answered = response.status == 200
            except OSError:
                time.sleep(0.5)
        assert answered, "the dashboard never answered its health check"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "Email:" not in output


def _two_figures():
    from impactlens.dashboard import ui
    from impactlens.evidence.model import Figure

    ui.figure(Figure("mentees", 2, "count", previous=2, label="Mentees"))
    ui.figure(Figure("reviews", 3, "count", previous=2, label="Reviews"))


def test_an_unchanged_figure_shows_no_arrow_and_no_colour():
    at = AppTest.from_function(_two_figures).run()
    assert not at.exception
    same, more = at.metric
    # 2 -> 2 is no change: "±0%", neither up nor green; 2 -> 3 is +50% and up.
    assert (same.proto.delta, same.proto.MetricDirection.Name(same.proto.direction)) == ("±0% vs 2", "NONE")
    assert same.proto.MetricColor.Name(same.proto.color) == "GRAY"
    assert (more.proto.delta, more.proto.MetricDirection.Name(more.proto.direction)) == ("+50% vs 2", "UP")
