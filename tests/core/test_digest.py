"""`impactlens digest` on the demo's planted stories, and on a copy of the demo where the story is changed
(the review bottleneck fixed from June 2026, one PR's reviews removed, one postmortem link dropped).

Expected values are worked out from the warehouse by SQL in the test, not read from the digest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from impactlens import config as config_mod
from impactlens import demo, warehouse
from impactlens.digest import build_digest

FIX_DAY = "2026-06-01"
WEB = ["ninap", "lweber", "arjunm", "kavyaiyer", "elarsen"]


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path, _ = demo.ensure(tmp_path_factory.mktemp("demo") / "demo.duckdb", rebuild=True)
    return path


@pytest.fixture(scope="module")
def changed(demo_path, tmp_path_factory):
    """A copy of the demo where Dan hands two thirds of his Web reviews to the others from FIX_DAY, the human
    reviews of one PR merged in 2026-W15 are gone, and one sev1/sev2 incident lost its postmortem link."""
    path = tmp_path_factory.mktemp("changed") / "demo.duckdb"
    shutil.copy(demo_path, path)
    con = warehouse.open_for_write(path)
    rows = con.execute(
        "SELECT r.repo_id, r.review_id, p.author_login FROM reviews r JOIN pull_requests p "
        "ON p.repo_id = r.repo_id AND p.number = r.pr_number WHERE r.reviewer_login = 'dkowalski' "
        f"AND r.submitted_at >= TIMESTAMPTZ '{FIX_DAY} 00:00:00+00' ORDER BY r.review_id").fetchall()
    for i, (repo, review_id, author) in enumerate(rows):
        if i % 3:
            other = next(login for login in WEB[i % 5:] + WEB if login != author)
            con.execute("UPDATE reviews SET reviewer_login = ? WHERE repo_id = ? AND review_id = ?", [other, repo, review_id])
    pr = con.execute(
        "SELECT repo_id, number FROM pull_requests WHERE repo_id = 'acme/web' AND NOT author_is_bot AND merged_at >= "
        "TIMESTAMPTZ '2026-04-06 00:00:00+00' AND merged_at < TIMESTAMPTZ '2026-04-13 00:00:00+00' ORDER BY number LIMIT 1"
    ).fetchall()[0]
    con.execute("DELETE FROM reviews WHERE repo_id = ? AND pr_number = ? AND NOT reviewer_is_bot", list(pr))
    incident = con.execute(
        "SELECT incident_id, resolved_at FROM incidents WHERE lower(severity) IN ('sev1', 'sev2') AND postmortem_url "
        "IS NOT NULL AND resolved_at IS NOT NULL ORDER BY opened_at LIMIT 1").fetchall()[0]
    con.execute("UPDATE incidents SET postmortem_url = NULL WHERE incident_id = ?", [incident[0]])
    con.close()
    return {"path": path, "pr": pr, "incident": incident}


def top_share(path, team, end: date, weeks: int = 4):
    """(top reviewer login, their share, total) of human reviews by ``team``'s members in the weeks before ``end``."""
    start = end - timedelta(weeks=weeks)
    with warehouse.read_only(path) as con:
        rows = con.execute(f"""
            SELECT r.reviewer_login, count(*) AS n FROM reviews r
            JOIN pull_requests p ON p.repo_id = r.repo_id AND p.number = r.pr_number
            JOIN people pe ON pe.github_login = r.reviewer_login
            JOIN team_memberships m ON m.person_id = pe.person_id AND m.team_id = ?
                 AND m.valid_from <= CAST(r.submitted_at AS DATE)
                 AND (m.valid_to IS NULL OR m.valid_to > CAST(r.submitted_at AS DATE))
            WHERE NOT r.reviewer_is_bot AND r.reviewer_login <> coalesce(p.author_login, '')
              AND r.submitted_at >= CAST(? AS DATE) AND r.submitted_at < CAST(? AS DATE)
            GROUP BY 1 ORDER BY n DESC""", [team, start, end]).fetchall()
    total = sum(n for _, n in rows)
    return rows[0][0], rows[0][1] / total, total


def digest(path, team, week, **overrides):
    cfg = config_mod.from_dict({"digest": overrides})
    with warehouse.read_only(path) as con:
        return build_digest(con, team, week, cfg)


def alert(doc, kind):
    return next((a for a in doc.alerts if a.kind == kind), None)


def monday(week: str) -> date:
    year, w = week.split("-W")
    return date.fromisocalendar(int(year), int(w), 1)


@pytest.mark.parametrize("week", ["2025-W40", "2026-W14", "2026-W30"])
def test_the_review_bottleneck_alerts_in_web_without_naming_dan(demo_path, week):
    doc = digest(demo_path, "web", week)
    login, share, total = top_share(demo_path, "web", monday(week) + timedelta(days=7))
    assert login == "dkowalski" and share > 0.4
    found = alert(doc, "review_concentration")
    assert found is not None and found.value == pytest.approx(share)
    assert str(total) in found.title and "Kowalski" not in doc.to_markdown() + doc.to_json()
    assert len(found.records) == round(share * total)
    assert all(r.url.startswith("https://github.com/acme/") and "#pullrequestreview-" in r.url for r in found.records)
    # The other teams share their reviews: no concentration alert the same week.
    for team in ("mobile", "platform"):
        assert alert(digest(demo_path, team, week), "review_concentration") is None


def test_the_bottleneck_stops_alerting_after_the_fix(changed):
    path = changed["path"]
    before = digest(path, "web", "2026-W14")
    assert alert(before, "review_concentration") is not None
    for week in ("2026-W28", "2026-W32", "2026-W40"):  # windows wholly after FIX_DAY
        login, share, _ = top_share(path, "web", monday(week) + timedelta(days=7))
        assert share <= 0.4, (login, share)
        assert alert(digest(path, "web", week), "review_concentration") is None


def test_a_pr_merged_without_human_review_alerts_and_the_ai_reviewer_does_not_count(changed):
    path = changed["path"]
    with warehouse.read_only(path) as con:
        expected = set(con.execute("""
            SELECT p.repo_id || '#' || p.number FROM pull_requests p
            JOIN people pe ON pe.github_login = p.author_login
            JOIN team_memberships m ON m.person_id = pe.person_id AND m.team_id = 'web'
                 AND m.valid_from <= CAST(p.merged_at AS DATE) AND (m.valid_to IS NULL OR m.valid_to > CAST(p.merged_at AS DATE))
            WHERE NOT p.author_is_bot AND p.merged_at >= TIMESTAMPTZ '2026-04-06 00:00:00+00'
              AND p.merged_at < TIMESTAMPTZ '2026-04-13 00:00:00+00'
              AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.repo_id = p.repo_id AND r.pr_number = p.number
                              AND NOT r.reviewer_is_bot AND r.reviewer_login <> p.author_login
                              AND r.submitted_at <= p.merged_at)""").fetchall())
        ai = con.execute("SELECT count(*) FROM reviews WHERE repo_id = ? AND pr_number = ? AND reviewer_login LIKE "
                         "'coderabbit%'", list(changed["pr"])).fetchall()[0][0]
    assert ai >= 1  # the PR still has its AI review, which is not a human one
    pr = f"{changed['pr'][0]}#{changed['pr'][1]}"
    assert pr in {e for (e,) in expected}
    found = alert(digest(path, "web", "2026-W15"), "merged_without_review")
    assert {r.label for r in found.records} == {e for (e,) in expected}


def test_an_incident_without_postmortem_alerts_in_its_week(changed, demo_path):
    incident_id, resolved_at = changed["incident"]
    week = resolved_at.date().isocalendar()
    label = f"{week[0]}-W{week[1]:02d}"
    with warehouse.read_only(changed["path"]) as con:
        commander = con.execute("SELECT commander FROM incidents WHERE incident_id = ?", [incident_id]).fetchall()[0][0]
        team = con.execute(
            "SELECT m.team_id FROM identities i JOIN team_memberships m ON m.person_id = i.person_id "
            "WHERE i.identity_id IN ('email:' || lower(?), 'github_login:' || lower(?)) OR i.person_id = ? LIMIT 1",
            [commander, commander, commander]).fetchall()[0][0]
    found = alert(digest(changed["path"], team, label), "incident_without_postmortem")
    assert found is not None and incident_id in {r.key for r in found.records}
    assert alert(digest(demo_path, team, label), "incident_without_postmortem") is None  # the demo links them all


def test_stale_and_large_prs_follow_their_thresholds(demo_path):
    doc = digest(demo_path, "mobile", "2026-W14")
    end = "TIMESTAMPTZ '2026-04-06 00:00:00+00'"
    with warehouse.read_only(demo_path) as con:
        for r in alert(doc, "stale_pr").records:
            created, merged, reviews = con.execute(
                f"SELECT created_at, merged_at, (SELECT count(*) FROM reviews v WHERE v.repo_id = p.repo_id AND "
                f"v.pr_number = p.number AND NOT v.reviewer_is_bot AND v.submitted_at < {end}) FROM pull_requests p "
                "WHERE repo_id = ? AND number = ?", [r.repo_id, int(r.key)]).fetchall()[0]
            assert reviews == 0 and (created.date() < date(2026, 4, 3)) and (merged is None or merged.date() >= date(2026, 4, 6))
    assert alert(digest(demo_path, "mobile", "2026-W14", stale_days=60), "stale_pr") is None
    large = alert(doc, "large_pr")
    assert large is not None and all(r.url.startswith("https://github.com/acme/mobile/pull/") for r in large.records)
    assert alert(digest(demo_path, "mobile", "2026-W14", max_pr_lines=100_000), "large_pr") is None


def run_cli(args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "impactlens", "digest", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def test_cli_exit_codes_formats_and_webhook(demo_path, tmp_path):
    done = run_cli(["--team", "web", "--week", "2026-W14", "--db", str(demo_path)], tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("# Weekly digest: Web, 2026-W14") and "Kowalski" not in done.stdout

    quiet_cfg = tmp_path / "quiet.toml"
    quiet_cfg.write_text("[digest]\nstale_days = 365\nreview_share_max = 1\nmax_pr_lines = 100000\n"
                         "postmortem_severities = ['none']\n")
    done = run_cli(["--team", "web", "--week", "2026-W14", "--db", str(demo_path), "--config", str(quiet_cfg), "--quiet"],
                   tmp_path)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr

    out = tmp_path / "slack.json"
    done = run_cli(["--team", "web", "--week", "2026-W14", "--db", str(demo_path), "-f", "slack", "-o", str(out)], tmp_path)
    assert done.returncode == 3 and done.stdout == ""
    payload = json.loads(out.read_text())
    assert payload["blocks"][1]["text"]["type"] == "mrkdwn" and "<https://github.com/acme/web/pull/" in payload["blocks"][1]["text"]["text"]

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = tmp_path / "hook.toml"
        cfg.write_text(f"[digest]\nwebhook_url = 'http://127.0.0.1:{server.server_port}/hook'\nwebhook_format = 'teams'\n")
        done = run_cli(["--team", "web", "--week", "2026-W14", "--db", str(demo_path), "--config", str(cfg), "--post",
                        "-q"], tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 3, done.stderr
    card = received[0]["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"].startswith("Weekly digest: Web")

    bad = tmp_path / "bad.toml"
    bad.write_text("[digest]\nreview_share_max = 3\n")
    done = run_cli(["--team", "web", "--week", "2026-W14", "--db", str(demo_path), "--config", str(bad)], tmp_path)
    assert done.returncode == 2 and "review_share_max" in done.stderr
