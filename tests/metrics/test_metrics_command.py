"""``impactlens metrics`` end to end: a real warehouse file, the real CLI, a real git repository for SZZ."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from impactlens import warehouse
from impactlens.cli import app
from impactlens.collectors.git import collect_git
from impactlens.metrics.job import TABLES, materialise
from builders import add_deployment, add_incident, add_member, add_person, add_pr, add_review

runner = CliRunner()


def build(db_path, make_repo):
    repo = make_repo("svc")
    repo.write("app.py", "a\nb\n")
    repo.commit("Add app", author="Ada <ada@example.com>", date="2024-01-01T10:00:00+00:00")
    repo.write("app.py", "a\nB\n")
    repo.commit("Tune b", author="Bob <bob@example.com>", date="2024-01-02T10:00:00+00:00")
    repo.write("app.py", "a\nb3\n")
    repo.commit("fix: b crashed", author="Ada <ada@example.com>", date="2024-01-03T10:00:00+00:00")
    con = warehouse.open_for_write(db_path)
    collect_git(con, repo.path, repo_id="acme/svc")
    add_person(con, "p-ada", logins=("ada",), emails=("ada@example.com",))
    add_person(con, "p-bob", logins=("bob",), emails=("bob@example.com",))
    add_member(con, "p-ada", "core", "2023-01-01")
    add_member(con, "p-bob", "core", "2023-01-01")
    add_pr(con, 1, "ada", "2024-01-01 10:00", repo="acme/svc", merged_at="2024-01-01 15:00", additions=3, deletions=1)
    add_review(con, 1, "bob", "2024-01-01 12:00", repo="acme/svc")
    add_pr(con, 2, "bob", "2024-01-02 10:00", repo="acme/svc")
    add_deployment(con, "d1", "2024-01-01 16:00", repo="acme/svc")
    add_incident(con, "i1", "2024-01-01 17:00", resolved="2024-01-01 18:30", repo="acme/svc", commander="ada")
    con.close()


def test_metrics_command_writes_every_table(db_path, make_repo):
    build(db_path, make_repo)
    result = runner.invoke(app, ["metrics", "--db", str(db_path), "--szz", "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        names = {n for (n,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(TABLES) | {"metric_bug_introductions", "metric_runs"} <= names
        prs = con.sql("SELECT number, time_to_first_review_hours, deploy_hours FROM metric_prs ORDER BY number").fetchall()
        assert prs == [(1, 2.0, 1.0), (2, None, None)]
        assert con.sql("SELECT time_to_restore_hours FROM metric_incidents").fetchall() == [(1.5,)]
        # SZZ: the fix changed the line bob's "Tune b" wrote.
        intro = con.sql("SELECT i.introducing_sha = c.sha FROM metric_bug_introductions i "
                        "JOIN commits c ON c.subject = 'Tune b'").fetchall()
        assert intro == [(True,)]
        runs = dict(con.sql("SELECT table_name, row_count FROM metric_runs").fetchall())
        assert runs["metric_prs"] == 2 and runs["metric_incidents"] == 1
        first = con.sql("SELECT count(*) FROM metric_review_cycles").fetchall()
    finally:
        con.close()
    # A second run replaces the tables whole: the same rows, never twice.
    again = runner.invoke(app, ["metrics", "--db", str(db_path)])
    assert again.exit_code == 0, again.output
    assert "metric_prs" in again.output
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert con.sql("SELECT count(*) FROM metric_review_cycles").fetchall() == first
        assert con.sql("SELECT count(*) FROM metric_prs").fetchall() == [(2,)]
    finally:
        con.close()


def test_metrics_command_without_a_warehouse(tmp_path):
    result = runner.invoke(app, ["metrics", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "no warehouse at" in result.output
    assert not (tmp_path / "none.duckdb").exists()


def test_metrics_on_an_empty_warehouse(db_path):
    warehouse.open_for_write(db_path).close()
    result = runner.invoke(app, ["metrics", "--db", str(db_path), "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert con.sql("SELECT count(*) FROM metric_prs").fetchall() == [(0,)]
    finally:
        con.close()


def test_a_failed_run_keeps_the_previous_tables(db_path, make_repo, tmp_path):
    build(db_path, make_repo)
    assert runner.invoke(app, ["metrics", "--db", str(db_path), "--quiet"]).exit_code == 0
    bad = tmp_path / "impactlens.toml"
    bad.write_text('[business_hours]\nworkdays = ["Mon", "Funday"]\n', encoding="utf-8")
    result = runner.invoke(app, ["metrics", "--db", str(db_path), "--config", str(bad), "--quiet"])
    assert result.exit_code == 2
    assert "Funday" in result.output and "Traceback" not in result.output
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert con.sql("SELECT count(*) FROM metric_prs").fetchall() == [(2,)]
    finally:
        con.close()


def test_a_metric_that_does_not_fit_its_declared_table_is_refused(db_path, make_repo):
    # The tables are declared by migration 005; a metric whose columns drifted from it stops the run
    # (rolled back: the previous rows stay) rather than being cast into the wrong type.
    build(db_path, make_repo)
    assert runner.invoke(app, ["metrics", "--db", str(db_path), "--quiet"]).exit_code == 0
    con = duckdb.connect(str(db_path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("ALTER TABLE metric_prs ALTER COLUMN number TYPE VARCHAR")
        with pytest.raises(RuntimeError, match=r"metric_prs does not fit its schema .*number INTEGER \(schema: VARCHAR\)"):
            materialise(con)
        assert con.sql("SELECT count(*) FROM metric_prs").fetchall() == [(2,)]
        assert dict(con.sql("SELECT table_name, row_count FROM metric_runs").fetchall())["metric_prs"] == 2
    finally:
        con.close()
