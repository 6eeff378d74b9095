"""The dashboard served by `streamlit run` on 127.0.0.1 and read by headless Chromium (Playwright): every page of
the demo organisation loads without a Streamlit error box, draws its charts, and is saved as a screenshot in the
test's tmp folder (look at them: `pytest tests/dashboard/test_dashboard_browser.py --basetemp=/tmp/shots`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from impactlens.dashboard.browser import serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# (url path and query, page title, charts the page draws at least)
PAGES = [("?person=maya-okafor", "My impact", 2), ("promotion_case?person=maya-okafor", "Promotion case", 0),
         ("team_health?team=web", "Team health: Web", 6)]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = pytest.importorskip("impactlens.demo")
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build(path)
    return path


@pytest.fixture(scope="module")
def server(demo_db: Path):
    """`streamlit run` on the demo warehouse, on a free port of 127.0.0.1 (:func:`impactlens.dashboard.browser.serve`);
    yields its base URL."""
    with serve(demo_db, demo_db.with_name("streamlit.log")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize(("path", "title", "charts"), PAGES, ids=[p[1] for p in PAGES])
def test_page_renders_in_chromium(server: str, browser, tmp_path: Path, path: str, title: str, charts: int):
    page = browser.new_page(viewport={"width": 1400, "height": 6000})
    try:
        page.goto(f"{server}/{path}", wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=120_000)
        page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
        # Streamlit scrolls inside its main block and draws charts as they come into view: the page opens in a
        # tall viewport (so every chart draws), which then shrinks to the content so one PNG shows it all.
        if charts:
            page.wait_for_function(
                "n => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
                "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= n", arg=charts, timeout=60_000)
        page.wait_for_timeout(1000)
        height = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').getBoundingClientRect().bottom")
        page.set_viewport_size({"width": 1400, "height": int(max(1000, min(height + 40, 9000)))})
        page.wait_for_timeout(500)
        shot = tmp_path / f"{path.split('?')[0] or 'my_impact'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("Maya Okafor").count() >= 1 or title.startswith("Team health")
        assert shot.stat().st_size > 20_000
    finally:
        page.close()


def _warehouse_with_prs(path: Path, merged: int) -> Path:
    from impactlens import warehouse

    con = warehouse.open_for_write(path)
    try:
        for number in range(1, merged + 1):
            con.execute(
                "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at, merged_at, "
                "additions, deletions, url) VALUES ('acme/api', ?, 'Change', 'dee', 'closed', "
                "TIMESTAMPTZ '2026-11-02 09:00+00' + to_days(?), TIMESTAMPTZ '2026-11-03 09:00+00' + to_days(?), "
                "1, 1, 'https://github.com/acme/api/pull/' || ?)", [number, number, number, number])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def test_an_open_page_shows_a_new_collection_by_itself(browser, tmp_path: Path):
    """A collection publishes a new file (os.replace): the open page reruns on it without any click."""
    import os

    db = _warehouse_with_prs(tmp_path / "live.duckdb", 1)
    with serve(db, tmp_path / "streamlit.log") as base:
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            page.goto(f"{base}/?person=github_login:dee", wait_until="domcontentloaded")  # no default person
            merged = page.locator('[data-testid="stMetric"]', has_text="PRs merged")
            merged.locator('[data-testid="stMetricValue"]', has_text="1").wait_for(timeout=120_000)
            os.replace(_warehouse_with_prs(tmp_path / "staged.duckdb", 3), db)
            merged.locator('[data-testid="stMetricValue"]', has_text="3").wait_for(timeout=90_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            page.close()
