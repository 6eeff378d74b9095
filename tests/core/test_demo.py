"""The demo organisation: deterministic builds, collector-shaped rows, and the `impactlens demo` command.

The planted stories are checked in tests/core/test_demo_stories.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from impactlens import demo, warehouse
from impactlens.demo import cast, samples
from impactlens.demo.generate import END_AT, START_AT
from impactlens.errors import WarehouseError

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_tables():
    """The demo's rows, generated once for the session."""
    return demo.generate()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, demo_tables) -> Path:
    """The demo warehouse, built by the library call `impactlens demo` uses, at one path for the whole session:
    tests/core/test_demo_stories.py asks for the same path and reuses the build (demo.ensure sees it is current)."""
    path, _ = demo.ensure(tmp_path_factory.getbasetemp() / "demo-shared" / "demo.duckdb", tables=demo_tables)
    return path


@pytest.fixture
def db(demo_db):
    con = warehouse.read_only(demo_db)
    yield con
    con.close()


def one(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def tables_of(con) -> list[str]:
    return [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY 1").fetchall()]


# --- determinism and the command ---------------------------------------------------------------

def test_cli_builds_a_second_demo_identical_to_the_first(demo_db, tmp_path):
    """A second build, in another process (other hash seed) through the CLI, gives the same rows in every table."""
    other = tmp_path / "again.duckdb"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    env.pop(warehouse.DB_ENV, None)
    result = subprocess.run(
        [sys.executable, "-m", "impactlens", "demo", "--no-open", "--db", str(other)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Built in" in result.stdout and str(other) in result.stdout
    assert "review_bottleneck" in result.stdout and f"impactlens dashboard --db {other}" in result.stdout
    con = duckdb.connect()
    con.execute(f"ATTACH '{demo_db}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{other}' AS b (READ_ONLY)")
    names = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'a' AND table_type = 'BASE TABLE' "
        "AND table_name <> 'schema_version' ORDER BY 1").fetchall()]
    assert "pull_requests" in names and "identities" in names
    for table in names:
        count_a = one(con, f"SELECT count(*) FROM a.{table}")
        assert count_a == one(con, f"SELECT count(*) FROM b.{table}"), table
        differ = one(con, f"SELECT count(*) FROM (SELECT * FROM a.{table} EXCEPT ALL SELECT * FROM b.{table})")
        assert differ == 0, f"{table}: {differ} rows differ between two builds"
    con.close()


def test_ensure_reuses_a_current_demo_and_rebuilds_on_request(demo_db, tmp_path):
    again, built = demo.ensure(demo_db)
    assert (again, built) == (demo_db, False)
    assert demo.is_current(demo_db)
    # A file from another generator version is rebuilt, not reused.
    copy = tmp_path / "old.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    con = duckdb.connect(str(copy))
    con.execute("UPDATE sync_state SET cursor = '{\"generator_version\": \"0\"}' WHERE source = 'demo'")
    con.close()
    assert demo.is_demo_file(copy) and not demo.is_current(copy)


def test_demo_never_overwrites_a_users_warehouse(tmp_path):
    users = tmp_path / "impactlens.duckdb"
    con = warehouse.open_for_write(users)
    con.execute("INSERT INTO repositories (repo_id, name) VALUES ('me/mine', 'mine')")
    con.close()
    before = users.read_bytes()
    with pytest.raises(WarehouseError, match="not a demo warehouse"):
        demo.ensure(users)
    assert users.read_bytes() == before
    result = subprocess.run([sys.executable, "-m", "impactlens", "demo", "--no-open", "--db", str(users)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a demo warehouse" in result.stderr
    assert users.read_bytes() == before


def test_default_path_is_the_gitignored_cache_folder(monkeypatch):
    monkeypatch.delenv(demo.DEMO_DB_ENV, raising=False)
    assert demo.default_path() == REPO_ROOT / "sample_data" / "cache" / "demo.duckdb"
    ignored = subprocess.run(["git", "-C", str(REPO_ROOT), "check-ignore", "-q", "sample_data/cache/demo.duckdb"])
    assert ignored.returncode == 0
    monkeypatch.setenv(demo.DEMO_DB_ENV, "/somewhere/else.duckdb")
    assert demo.default_path() == Path("/somewhere/else.duckdb")


def test_sample_files_are_what_the_generator_writes(demo_tables):
    """sample_data/demo/ holds the roster and incident export the demo imports (python -m impactlens.demo.samples)."""
    for name, text in samples.sample_files(demo_tables).items():
        assert (REPO_ROOT / "sample_data" / "demo" / name).read_text(encoding="utf-8") == text, name


# --- shapes: what the collectors would have written ---------------------------------------------

def test_every_table_the_contract_names_is_filled(db):
    for table in ("repositories", "commits", "commit_files", "commit_coauthors", "pull_requests", "pr_timeline_events",
                  "reviews", "comments", "issues", "milestones", "releases", "deployments", "incidents", "people",
                  "identities", "teams", "team_memberships", "codeowners"):
        assert one(db, f"SELECT count(*) FROM {table}") > 0, table
    assert one(db, "SELECT count(*) FROM people WHERE NOT is_bot") == 30
    # Every incident's service has an owning team (roster teams[].services).
    assert one(db, "SELECT count(*) FROM incidents i ANTI JOIN team_services s ON lower(s.service) = lower(i.service)") == 0
    assert sorted(r[0] for r in db.execute("SELECT team_id FROM teams").fetchall()) == ["core-api", "mobile", "platform", "web"]
    assert sorted(r[0] for r in db.execute("SELECT repo_id FROM repositories").fetchall()) == [
        "acme/api", "acme/mobile", "acme/platform", "acme/web"]


def test_references_between_tables_resolve(db):
    checks = {
        "review without its PR": "SELECT count(*) FROM reviews r ANTI JOIN pull_requests p ON p.repo_id = r.repo_id AND p.number = r.pr_number",
        "event without its PR": "SELECT count(*) FROM pr_timeline_events e ANTI JOIN pull_requests p ON p.repo_id = e.repo_id AND p.number = e.pr_number",
        "PR comment without its PR": "SELECT count(*) FROM comments c ANTI JOIN pull_requests p ON p.repo_id = c.repo_id AND p.number = c.parent_number WHERE c.parent_type = 'pull_request'",
        "issue comment without its issue": "SELECT count(*) FROM comments c ANTI JOIN issues i ON i.repo_id = c.repo_id AND i.number = c.parent_number WHERE c.parent_type = 'issue'",
        "review comment without its review": "SELECT count(*) FROM comments c ANTI JOIN reviews r ON r.repo_id = c.repo_id AND r.review_id = c.review_id WHERE c.kind = 'review'",
        "reply to an unknown comment": "SELECT count(*) FROM comments c ANTI JOIN comments p ON p.repo_id = c.repo_id AND p.comment_id = c.in_reply_to_id WHERE c.in_reply_to_id IS NOT NULL",
        "file of an unknown commit": "SELECT count(*) FROM commit_files f ANTI JOIN commits c USING (repo_id, sha)",
        "co-author of an unknown commit": "SELECT count(*) FROM commit_coauthors a ANTI JOIN commits c USING (repo_id, sha)",
        "unknown parent commit": "SELECT count(*) FROM (SELECT repo_id, unnest(parent_shas) AS sha FROM commits) p ANTI JOIN commits c USING (repo_id, sha)",
        "merged PR without its merge commit": "SELECT count(*) FROM pull_requests p ANTI JOIN commits c ON c.repo_id = p.repo_id AND c.sha = p.merge_commit_sha WHERE p.merged_at IS NOT NULL",
        "deployment of an unknown commit": "SELECT count(*) FROM deployments d ANTI JOIN commits c ON c.repo_id = d.repo_id AND c.sha = d.sha",
        "incident with an unknown deployment": "SELECT count(*) FROM incidents i ANTI JOIN deployments d USING (deployment_id) WHERE i.deployment_id IS NOT NULL",
        "PR linked to an unknown issue": "SELECT count(*) FROM (SELECT repo_id, unnest(linked_issues) AS number FROM pull_requests) l ANTI JOIN issues USING (repo_id, number)",
        "PR in an unknown milestone": "SELECT count(*) FROM pull_requests p ANTI JOIN milestones m ON m.repo_id = p.repo_id AND m.number = p.milestone_number WHERE p.milestone_number IS NOT NULL",
        "membership of an unknown team": "SELECT count(*) FROM team_memberships m ANTI JOIN teams USING (team_id)",
        "release of an unknown commit": "SELECT count(*) FROM releases r ANTI JOIN commits c ON c.repo_id = r.repo_id AND c.sha = r.target_commitish",
    }
    for what, sql in checks.items():
        assert one(db, sql) == 0, what


def test_issues_and_pull_requests_share_one_number_sequence_per_repository(db):
    rows = db.execute(
        "SELECT repo_id, count(*), count(DISTINCT number), min(number), max(number) FROM "
        "(SELECT repo_id, number FROM issues UNION ALL SELECT repo_id, number FROM pull_requests) GROUP BY 1"
    ).fetchall()
    for repo_id, n, distinct, low, high in rows:
        assert n == distinct == high and low == 1, repo_id
    # Numbers follow creation order, as on GitHub.
    assert one(db, """SELECT count(*) FROM (
        SELECT repo_id, number, created_at, lag(created_at) OVER (PARTITION BY repo_id ORDER BY number) AS prev
        FROM (SELECT repo_id, number, created_at FROM issues UNION ALL SELECT repo_id, number, created_at FROM pull_requests))
        WHERE created_at < prev""") == 0


def test_values_have_the_collectors_vocabulary(db):
    assert {r[0] for r in db.execute("SELECT DISTINCT event_type FROM pr_timeline_events").fetchall()} == {
        "ready_for_review", "review_requested", "convert_to_draft", "reopened"}
    assert {r[0] for r in db.execute("SELECT DISTINCT state FROM reviews").fetchall()} == {
        "APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}
    assert set(db.execute("SELECT DISTINCT kind, parent_type FROM comments").fetchall()) == {
        ("review", "pull_request"), ("issue", "pull_request"), ("issue", "issue")}
    assert one(db, "SELECT count(*) FROM comments WHERE kind = 'review' AND (review_id IS NULL OR path IS NULL)") == 0
    # requested_reviewers holds the requests still pending (GitHub drops a request once the reviewer reviews);
    # every request, answered or not, is a review_requested event.
    assert one(db, "SELECT count(*) FROM (SELECT p.repo_id, p.number, unnest(p.requested_reviewers) AS login "
                   "FROM pull_requests p) q JOIN reviews r ON r.repo_id = q.repo_id AND r.pr_number = q.number "
                   "AND r.reviewer_login = q.login") == 0
    assert one(db, "SELECT count(*) FROM pull_requests p WHERE p.state = 'open' AND len(p.requested_reviewers) > 0") > 0
    assert one(db, "SELECT count(*) FROM pr_timeline_events WHERE event_type = 'review_requested'") > 10000
    # States as the GitHub collector writes them (GraphQL's, lower-cased); review states stay GraphQL's.
    assert {r[0] for r in db.execute("SELECT DISTINCT state FROM pull_requests").fetchall()} == {"open", "closed", "merged"}
    assert {r[0] for r in db.execute("SELECT DISTINCT state FROM issues").fetchall()} == {"open", "closed"}
    assert one(db, "SELECT count(*) FROM pull_requests WHERE (state = 'merged') <> (merged_at IS NOT NULL)") == 0
    assert one(db, "SELECT count(*) FROM reviews WHERE NOT regexp_full_match(review_id, 'PRR_kwDO[0-9A-F]+')") == 0
    assert one(db, "SELECT count(*) FROM deployments WHERE deployment_id NOT LIKE 'github:' || repo_id || ':%'") == 0
    assert one(db, "SELECT count(*) FROM deployments WHERE status NOT IN ('success', 'failure')") == 0
    assert one(db, "SELECT count(*) FROM deployments WHERE is_production AND status = 'success'") > 1000
    assert one(db, "SELECT count(*) FROM incidents WHERE deployment_id IS NOT NULL AND attribution_reason IS NULL") == 0
    # URLs point where GitHub would.
    assert one(db, "SELECT count(*) FROM pull_requests WHERE url <> 'https://github.com/' || repo_id || '/pull/' || number") == 0
    assert one(db, "SELECT count(*) FROM issues WHERE url <> 'https://github.com/' || repo_id || '/issues/' || number") == 0
    assert one(db, "SELECT count(*) FROM reviews r JOIN pull_requests p ON p.repo_id = r.repo_id AND p.number = r.pr_number "
                   "WHERE NOT regexp_full_match(r.url, p.url || '#pullrequestreview-[0-9]+')") == 0
    assert one(db, "SELECT count(*) FROM comments WHERE kind = 'review' AND NOT regexp_matches(url, '/pull/[0-9]+#discussion_r[0-9]+$')") == 0
    # Squash merges carry "(#N)", merge commits "Merge pull request #N", and the git collector's pr_number matches.
    assert one(db, "SELECT count(*) FROM pull_requests p JOIN commits c ON c.repo_id = p.repo_id AND c.sha = p.merge_commit_sha "
                   "WHERE c.pr_number IS DISTINCT FROM p.number") == 0
    assert one(db, "SELECT count(*) FROM commits WHERE is_merge AND subject NOT LIKE 'Merge pull request #%'") == 0
    assert one(db, "SELECT count(*) FROM commits WHERE is_merge AND repo_id <> 'acme/web'") == 0


def test_file_categories_are_the_configured_ones(db):
    from impactlens import config
    from impactlens.categories import categorizer

    categorize = categorizer(config.DEFAULTS)
    rows = db.execute("SELECT DISTINCT path, category FROM commit_files").fetchall()
    assert all(categorize(path) == category for path, category in rows)
    present = {category for _, category in rows}
    assert {"code", "test", "lockfile", "generated", "vendored", "adr", "design_doc", "runbook", "postmortem"} <= present


def test_timestamps_are_utc_and_inside_the_demo_window(db):
    for table, column in (("pull_requests", "created_at"), ("pull_requests", "merged_at"), ("reviews", "submitted_at"),
                          ("comments", "created_at"), ("commits", "authored_at"), ("incidents", "opened_at"),
                          ("deployments", "created_at"), ("pr_timeline_events", "created_at")):
        low, high = db.execute(f"SELECT min({column}), max({column}) FROM {table}").fetchall()[0]
        assert low.utcoffset() == timedelta(0) and high.utcoffset() == timedelta(0)
        assert START_AT - timedelta(days=30) <= low and high <= END_AT, (table, column, low, high)
    assert db.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'reviews' "
                      "AND column_name = 'submitted_at'").fetchall() == [("TIMESTAMP WITH TIME ZONE",)]
    # Order within a PR: first commit, created, reviewed, merged.
    assert one(db, "SELECT count(*) FROM pull_requests WHERE first_commit_at > created_at OR merged_at < created_at") == 0
    assert one(db, "SELECT count(*) FROM reviews r JOIN pull_requests p ON p.repo_id = r.repo_id AND p.number = r.pr_number "
                   "WHERE r.submitted_at < p.created_at") == 0


def test_generated_values_are_aware_utc_datetimes(demo_tables):
    for name, columns in demo_tables.items():
        for column, values in columns.items():
            sample = next((v for v in values if v is not None), None)
            if isinstance(sample, datetime):
                assert all(v is None or v.utcoffset() == timedelta(0) for v in values), (name, column)


def test_people_work_office_hours_in_three_timezones_on_weekdays(db):
    human = ("FROM commits c JOIN identities i ON i.identity_id = 'email:' || lower(c.author_email) "
             "JOIN people p ON p.person_id = i.person_id WHERE NOT p.is_bot AND NOT c.is_merge")
    offsets = {r[0] for r in db.execute(f"SELECT DISTINCT author_utc_offset_minutes {human}").fetchall()}
    assert {-300, -240, 60, 120, 330} <= offsets  # New York (with DST), Berlin (with DST), Bengaluru
    local = "(c.authored_at + to_minutes(c.author_utc_offset_minutes))"
    total = one(db, f"SELECT count(*) {human}")
    office = one(db, f"SELECT count(*) {human} AND hour({local}) BETWEEN 8 AND 18 AND isodow({local}) <= 5")
    assert office / total > 0.9
    # Christmas is a holiday everywhere, and the new hires commit nothing before they join.
    assert one(db, f"SELECT count(*) {human} AND month({local}) = 12 AND day({local}) = 25") == 0
    assert one(db, f"SELECT min({local})::DATE {human} AND p.person_id = 'leo-park'") >= cast.MENTEE_STARTS["leo-park"]
    assert one(db, f"SELECT max({local})::DATE {human} AND p.person_id = 'rahul-verma'") <= datetime(2025, 8, 29).date()


def test_pr_sizes_are_log_normal_like(db):
    median, mean, p90 = db.execute(
        "SELECT median(additions + deletions), avg(additions + deletions), quantile_cont(additions + deletions, 0.9) "
        "FROM pull_requests WHERE NOT author_is_bot").fetchall()[0]
    assert median < mean and p90 > 3 * median  # right-skewed with a long tail


def test_bots_are_flagged_and_kept(db):
    for login, kind in (("dependabot[bot]", "bot"), ("renovate[bot]", "bot"), ("github-actions[bot]", "bot"),
                        ("coderabbitai[bot]", "ai_reviewer")):
        assert db.execute("SELECT is_bot, bot_kind FROM identities WHERE identity_id = ?",
                          [f"github_login:{login}"]).fetchall() == [(True, kind)], login
    assert one(db, "SELECT count(*) FROM pull_requests WHERE author_login = 'dependabot[bot]' AND author_is_bot") > 50
    assert one(db, "SELECT count(*) FROM pull_requests WHERE author_login LIKE '%[bot]' AND NOT author_is_bot") == 0
    assert one(db, "SELECT count(*) FROM reviews WHERE reviewer_login = 'coderabbitai[bot]' AND reviewer_is_bot") > 1000
    assert one(db, "SELECT count(*) FROM comments WHERE author_login LIKE '%[bot]' AND NOT author_is_bot") == 0


def test_identities_resolve_through_the_roster_mailmap_and_noreply(db):
    def person(identity_id):
        return one(db, "SELECT person_id FROM identities WHERE identity_id = ?", [identity_id])

    # One person with two emails (the roster ties them), a mailmapped laptop address, a no-reply address.
    assert person("email:chen.wei@acme.io") == person("email:chenwei.dev@gmail.com") == person("github_login:chenwei") == "chen-wei"
    assert one(db, "SELECT count(*) FROM commits WHERE author_email = 'chenwei.dev@gmail.com'") > 20
    assert person("email:tom@becker-mbp.local") == "tom-becker"
    assert one(db, "SELECT count(*) FROM commits WHERE author_email_raw = 'tom@becker-mbp.local' "
                   "AND author_email = 'tom.becker@acme.io'") > 10
    assert person("email:58123401+arjunm@users.noreply.github.com") == "arjun-mehta"
    # Every human actor of the activity tables is a roster person.
    assert db.execute("SELECT identity_id FROM identities WHERE person_id IS NULL AND NOT is_bot").fetchall() == []
    # GitHub's web-flow committer of squash and merge commits is a bot address, not a person.
    assert db.execute("SELECT is_bot FROM identities WHERE identity_id = 'email:noreply@github.com'").fetchall() == [(True,)]


def test_people_join_leave_and_one_moves_team(db):
    assert db.execute("SELECT team_id, valid_from, valid_to FROM team_memberships WHERE person_id = 'sam-rivera' "
                      "ORDER BY valid_from").fetchall() == [
        ("web", datetime(2022, 1, 3).date(), cast.TEAM_MOVE_DATE), ("platform", cast.TEAM_MOVE_DATE, None)]
    assert one(db, "SELECT count(*) FROM people WHERE end_date IS NOT NULL AND NOT is_bot") == 3
    assert one(db, "SELECT count(*) FROM people WHERE start_date >= '2025-01-01' AND NOT is_bot") == 5
    # Sam's PRs go to acme/web before the move and acme/platform after (mostly: people help other teams too).
    before, after = db.execute(
        "SELECT avg((repo_id = 'acme/web')::INT) FILTER (WHERE created_at < ?), "
        "avg((repo_id = 'acme/platform')::INT) FILTER (WHERE created_at >= ?) FROM pull_requests "
        "WHERE author_login = 'samrivera'", [cast.TEAM_MOVE_DATE, cast.TEAM_MOVE_DATE]).fetchall()[0]
    assert before > 0.8 and after > 0.8


def test_demo_opens_the_dashboard_on_the_demo_warehouse(demo_db, monkeypatch):
    """Without --no-open the command hands the demo file to the dashboard's launcher (which would serve it)."""
    from typer.testing import CliRunner

    from impactlens.cli import app
    from impactlens.commands import dashboard

    opened = []
    monkeypatch.setattr(dashboard, "launch", lambda path, **kwargs: opened.append((path, kwargs["browser"])) or 0)
    result = CliRunner().invoke(app, ["demo", "--db", str(demo_db)])
    assert result.exit_code == 0, result.output
    assert "Reused" in result.output and opened == [(demo_db, True)]
    # --no-browser still serves it (a headless machine), without a browser tab; --no-open serves nothing.
    result = CliRunner().invoke(app, ["demo", "--db", str(demo_db), "--no-browser"])
    assert result.exit_code == 0, result.output
    assert opened[-1] == (demo_db, False)
    CliRunner().invoke(app, ["demo", "--db", str(demo_db), "--no-open"])
    assert len(opened) == 2


def test_some_changes_are_reverted_as_git_and_github_record_it(db):
    reverts = db.execute(
        "SELECT c.repo_id, c.subject, regexp_extract(c.body, 'This reverts commit ([0-9a-f]{40})', 1) FROM commits c "
        "WHERE c.subject LIKE 'Revert \"%' AND c.body LIKE 'This reverts commit %'").fetchall()
    assert 30 <= len(reverts) <= 150
    for repo_id, subject, sha in reverts:
        original = db.execute("SELECT title FROM pull_requests WHERE repo_id = ? AND merge_commit_sha = ?",
                              [repo_id, sha]).fetchall()
        assert original and subject.startswith(f'Revert "{original[0][0]}"'), subject
    assert one(db, "SELECT count(*) FROM pull_requests WHERE title LIKE 'Revert %' AND 'revert' = ANY(labels)") == len(reverts)


def test_two_processes_asking_at_once_build_the_demo_once(tmp_path):
    """Tests, notebooks and the dashboard may all ask for the demo at once: one builds, the others reuse it."""
    target = tmp_path / "shared.duckdb"
    code = ("import sys; from impactlens import demo; path, built = demo.ensure(sys.argv[1]); "
            "print('built' if built else 'reused')")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert sorted(out.strip() for out, _ in results) == ["built", "reused"], results
    assert demo.is_current(target)


def test_demo_says_how_to_explore_when_no_dashboard_is_installed(demo_db, monkeypatch):
    from typer.testing import CliRunner

    from impactlens.cli import app
    from impactlens.commands import dashboard

    monkeypatch.delattr(dashboard, "launch")
    result = CliRunner().invoke(app, ["demo", "--db", str(demo_db)])
    assert result.exit_code == 0, result.output
    assert f"impactlens db info --db {demo_db}" in result.output
    assert "The dashboard is not available" in result.output
