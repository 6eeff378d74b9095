"""The Promotion case page reads like the packet: on a git-only warehouse built from a real repository it says
what the data covers, labels figures (never keys), shows the rubric's full text with "not judged" lines, and
offers the same packet as the downloads."""

from __future__ import annotations

import subprocess
from pathlib import Path

from streamlit.testing.v1 import AppTest

from impactlens import warehouse
from evidence.test_git_only_evidence import build_history, collect

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_the_git_only_promotion_page_says_what_it_cannot_judge(make_repo, db_path, monkeypatch):
    upstream = make_repo("upstream")
    build_history(upstream)
    clone = upstream.path.parent / "work"
    subprocess.run(["git", "clone", "-q", str(upstream.path), str(clone)], check=True)
    collect(db_path, clone)
    monkeypatch.setenv(warehouse.DB_ENV, str(db_path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"person": "email:ada@example.com"})
    at.run()
    at.switch_page("promotion_case.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    notices = " ".join(i.value for i in at.info)
    assert "Data coverage" in notices and "Built from Git commits of work." in notices
    assert "No pull requests, reviews or issues for work: `impactlens collect github OWNER/NAME` adds them." in notices
    text = "\n".join(m.value for m in at.markdown)
    assert "| Shipped steadily (at least one change landed a week on average, a merged PR or a commit without one) | not judged |" in text
    assert "figure changes_landed_per_week >= 1: not judged (no pull requests)" in text
    assert "Commits landed: 4 commits" in text  # Ada's four non-merge commits of Q1 2025 (test_git_only_evidence)
    assert "share_of_lines:" not in text and "Prs merged" not in text and "commits_landed" not in text
    assert "No claim. Not fully judged: No pull requests" in text
    assert [h.value for h in at.subheader][:2] == ["Summary", "Scope and ownership"]
