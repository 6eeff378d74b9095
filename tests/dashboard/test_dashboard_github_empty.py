"""Team health on a warehouse whose GitHub data holds pull requests but no reviews and no deployments (as a
first `collect github` of a project that merges without reviews can), through AppTest: the page says there are
none instead of telling the user to run `collect github` again, and draws no empty chart.

The local GitHub (tests/github_server.py) serves acme/tool with two PRs by ada, both merged without a review:
#1 opened 2025-05-12 09:00, merged 05-13 09:00; #2 opened 05-14 09:00, merged 05-15 09:00 (UTC). No PR is open
at the end of the week of 2025-05-12, no PR got a first review, and GitHub has no deployments or releases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from github_server import TOKEN, Data, GitHubServer
from impactlens import warehouse

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def github_db(tmp_path_factory) -> Path:
    data = Data()
    repo = data.repository("acme/tool")
    ada = data.user("ada")
    for number, day in ((1, 12), (2, 14)):
        data.pull_request(repo, number, author=ada, created=f"2025-05-{day}T09:00:00Z", state="MERGED",
                          merged=f"2025-05-{day + 1}T09:00:00Z", merged_by=ada,
                          commits=[f"2025-05-{day}T08:00:00Z"])
    db = tmp_path_factory.mktemp("github_empty") / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    with GitHubServer(data) as server:
        done = subprocess.run([sys.executable, "-m", "impactlens", "collect", "github", "acme/tool", "-q",
                               "--api-url", server.api_url, "--db", str(db)],
                              env={**env, "GITHUB_TOKEN": TOKEN}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return db


def test_team_health_says_there_are_none_and_draws_no_empty_chart(github_db, monkeypatch, tmp_path):
    monkeypatch.setenv(warehouse.DB_ENV, str(github_db))
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("team_health.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    notices = [str(i.value) for i in at.info]
    assert "No reviews in the collected data for this selection." in notices
    assert any(n.startswith("No deployments: GitHub holds no deployments or releases for these repositories; "
                            "`impactlens collect tags CLONE`") for n in notices), notices
    assert not [n for n in notices if "collect github" in n], notices  # it was collected: no advice to run it
    assert any(n.startswith("Time to first review: no PR got a first review in this period (2 PRs became ready")
               for n in notices), notices
    assert "Open PRs by age: no PR was open at the end of the week of 12 May 2025." in notices
    titles = [__import__("json").loads(c.proto.spec).get("title") for c in at.get("vega_lite_chart")]
    names = [t.get("text") if isinstance(t, dict) else t for t in titles]
    assert "Time to first review" not in names and "Open PRs by age" not in names
    assert "PR size trend" in names and "Cycle time by phase" in names
    # The 4 weeks before 12 May are before the data begins: nothing is compared against them.
    assert "Nothing to compare: the data begins inside the 4 weeks before (PRs merged: only 0% of them covered by " \
           "pull requests)." in notices, notices


def test_a_count_figure_names_what_it_counts_in_the_noise_reason():
    from impactlens.evidence.team_review import _COUNTS, _FIGURES
    from impactlens.metrics import comparison

    # What moved's count figures are judged with their unit as the noun: "1 PR", not "1 prs merged".
    units = {label: unit for label, _, _, unit, _, _ in _FIGURES if unit in _COUNTS}
    assert units == {"PRs merged": "PRs", "Commits": "commits", "Reviews given": "reviews", "Incidents": "incidents",
                     "Deployments": "deployments"}
    one = comparison.judge("count", 1, 0, noun=units["PRs merged"])
    assert one.reason == "1 PR in both periods together (fewer than 5)"
    three = comparison.judge("count", 2, 1, noun=units["Commits"])
    assert three.reason == "3 commits in both periods together (fewer than 5)"
