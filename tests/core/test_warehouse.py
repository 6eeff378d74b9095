"""The warehouse file: schema creation and migration, and publishing so readers never see half a run."""

from __future__ import annotations

import duckdb
import pytest

from impactlens import warehouse
from impactlens.errors import SchemaOutdatedError, SchemaTooNewError, WarehouseError

REQUIRED_TABLES = {
    "repositories", "commits", "commit_files", "people", "identities", "pull_requests", "reviews",
    "comments", "issues", "incidents", "deployments", "collection_runs", "schema_version",
}


def tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_new_file_gets_every_table_and_the_current_version(con):
    assert REQUIRED_TABLES <= tables(con)
    assert warehouse.schema_version(con) == warehouse.SCHEMA_VERSION == len(warehouse.MIGRATIONS)


def test_timestamps_are_timestamptz_in_utc(con):
    kinds = con.execute(
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE column_name LIKE '%\\_at' ESCAPE '\\'"
    ).fetchall()
    assert kinds == [("TIMESTAMP WITH TIME ZONE",)]
    assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]


def test_older_file_is_upgraded_in_place(db_path):
    old = duckdb.connect(str(db_path))
    warehouse.migrate(old, warehouse.MIGRATIONS[:1])
    old.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/api', 'api')")
    assert "sync_state" not in tables(old)
    old.close()

    with pytest.raises(SchemaOutdatedError, match="impactlens db upgrade"):
        warehouse.read_only(db_path)
    assert warehouse.upgrade(db_path) == warehouse.SCHEMA_VERSION
    with warehouse.read_only(db_path) as con:
        assert "sync_state" in tables(con)
        assert con.execute("SELECT repo_id FROM repositories").fetchall() == [("acme/api",)]
        assert [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == list(
            range(1, warehouse.SCHEMA_VERSION + 1)
        )


def test_the_attribution_rule_is_read_back_from_the_reason_of_an_older_file(db_path):
    # A version-3 file, attributed by the old code (the rule was only in the reason's words): migration 4 stores it.
    old = duckdb.connect(str(db_path))
    warehouse.migrate(old, warehouse.MIGRATIONS[:3])
    for incident_id, deployment, reason in (
        ("i:named", "d1", "its text names abc1234, deployed as v1 at 2024-01-01 10:00 UTC"),
        ("i:latest", "d1", "latest successful production deployment of acme/api before it opened: v1 at ..."),
        ("i:none", None, "no successful production deployment of acme/api before it opened"),
        ("i:hand", "d1", None),
    ):
        old.execute("INSERT INTO incidents (incident_id, source, external_id, opened_at, status, deployment_id, "
                    "attribution_reason) VALUES (?, 'i', ?, TIMESTAMPTZ '2024-01-02 00:00:00+00', 'open', ?, ?)",
                    [incident_id, incident_id, deployment, reason])
    old.close()
    warehouse.upgrade(db_path)
    with warehouse.read_only(db_path) as con:
        rules = dict(con.execute("SELECT incident_id, attribution_rule FROM incidents").fetchall())
    assert rules == {"i:named": "named_commit", "i:latest": "latest_deployment", "i:none": None, "i:hand": None}


def test_a_new_file_has_the_metric_tables_empty(con):
    from impactlens.metrics.job import TABLES

    assert set(TABLES) | {"metric_bug_introductions", "metric_szz_repositories", "metric_runs"} <= tables(con)
    assert con.execute("SELECT count(*) FROM metric_prs").fetchall() == [(0,)]
    # Declared, not guessed from a first run: the incident table's list column has its type before any row.
    kinds = dict(con.execute("SELECT name, type FROM pragma_table_info('metric_incidents')").fetchall())
    assert kinds["responder_keys"] == "VARCHAR[]" and kinds["opened_at"] == "TIMESTAMP WITH TIME ZONE"


def test_a_version_4_file_gets_the_declared_metric_tables(db_path):
    # Version 4: `impactlens metrics` created its tables itself (CREATE TABLE AS), in that day's shape.
    old = duckdb.connect(str(db_path))
    warehouse.migrate(old, warehouse.MIGRATIONS[:4])
    old.execute("CREATE TABLE metric_prs AS SELECT 1 AS number, 'gone' AS a_dropped_column")
    old.execute("CREATE TABLE metric_runs AS SELECT 'metric_prs' AS table_name, 1 AS row_count, now() AS computed_at")
    old.close()
    assert warehouse.upgrade(db_path) == warehouse.SCHEMA_VERSION
    with warehouse.read_only(db_path) as con:
        columns = [name for (name,) in con.execute("SELECT name FROM pragma_table_info('metric_prs')").fetchall()]
        assert "a_dropped_column" not in columns and columns[:3] == ["pr_id", "repo_id", "number"]
        assert con.execute("SELECT count(*) FROM metric_prs").fetchall() == [(0,)]
        # Emptied with the tables: nothing claims a computation the tables no longer hold.
        assert con.execute("SELECT count(*) FROM metric_runs").fetchall() == [(0,)]
        assert "metric_incidents" in tables(con)


def test_newer_file_is_refused_with_a_clear_message(db_path):
    con = warehouse.open_for_write(db_path)
    con.execute("INSERT INTO schema_version VALUES (99, 'from the future', now())")
    con.close()
    with pytest.raises(SchemaTooNewError, match="schema version 99.*upgrade impactlens"):
        warehouse.open_for_write(db_path)
    with pytest.raises(SchemaTooNewError):
        warehouse.read_only(db_path)


def test_a_failing_migration_step_leaves_the_previous_version(db_path):
    broken = (*warehouse.MIGRATIONS, warehouse.Migration(99, "broken", "CREATE TABLE x (a INT); SELECT nope;"))
    con = duckdb.connect(str(db_path))
    with pytest.raises(duckdb.Error):
        warehouse.migrate(con, broken)
    assert warehouse.schema_version(con) == warehouse.SCHEMA_VERSION
    assert "x" not in tables(con)
    con.close()


def test_readers_see_the_last_published_data_while_a_writer_works(db_path):
    with warehouse.writing(db_path) as con:
        con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/one', 'one')")

    with warehouse.writing(db_path) as con:
        con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/two', 'two')")
        # Mid-run, a reader (another process in real life) opens the published file and sees run one only.
        with warehouse.read_only(db_path) as reader:
            assert reader.execute("SELECT repo_id FROM repositories").fetchall() == [("acme/one",)]

    with warehouse.read_only(db_path) as reader:
        assert sorted(reader.execute("SELECT repo_id FROM repositories").fetchall()) == [("acme/one",), ("acme/two",)]
    assert not warehouse.working_copy_path(db_path).exists()


def test_a_failed_writer_publishes_nothing_and_the_next_one_continues(db_path):
    with warehouse.writing(db_path) as con:
        con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/one', 'one')")
    with pytest.raises(RuntimeError):
        with warehouse.writing(db_path) as con:
            with warehouse.transaction(con):  # collected rows, stored the way collectors store them
                con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/two', 'two')")
                warehouse.mark_derive_pending(con)
            raise RuntimeError("interrupted")
    with warehouse.read_only(db_path) as reader:
        assert reader.execute("SELECT count(*) FROM repositories").fetchall() == [(1,)]
    assert warehouse.working_copy_path(db_path).exists()  # kept for the next run of the same job
    with warehouse.writing(db_path) as con:
        assert con.execute("SELECT count(*) FROM repositories").fetchall() == [(2,)]


def test_a_failed_writer_that_stored_no_collected_rows_leaves_no_copy(db_path):
    with warehouse.writing(db_path) as con:
        con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/one', 'one')")
    with pytest.raises(RuntimeError):
        with warehouse.writing(db_path) as con:
            con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/two', 'two')")
            raise RuntimeError("bad input")
    assert not warehouse.working_copy_path(db_path).exists()
    assert not warehouse.owner_path(db_path).exists()
    with warehouse.writing(db_path) as con:
        assert con.execute("SELECT count(*) FROM repositories").fetchall() == [(1,)]


def test_a_second_writer_is_told_the_warehouse_is_busy(db_path):
    with warehouse.writing(db_path):
        with pytest.raises(WarehouseError, match="another impactlens process is writing"):
            with warehouse.writing(db_path):
                pass


def test_missing_file_and_garbage_file(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse at .*impactlens demo"):
        warehouse.read_only(tmp_path / "missing.duckdb")
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_text("not a database")
    with pytest.raises(WarehouseError):
        warehouse.read_only(garbage)


def test_db_path_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv(warehouse.DB_ENV, raising=False)
    assert str(warehouse.resolve_path()) == "impactlens.duckdb"
    monkeypatch.setenv(warehouse.DB_ENV, str(tmp_path / "env.duckdb"))
    assert warehouse.resolve_path() == tmp_path / "env.duckdb"
    assert str(warehouse.resolve_path("given.duckdb")) == "given.duckdb"


# -- collection runs, cursors and bulk rows --------------------------------------------------------

def runs(con) -> list[tuple]:
    return con.execute(
        "SELECT source, target, status, counts, cursor, error, finished_at IS NOT NULL FROM collection_runs "
        "ORDER BY started_at, status"
    ).fetchall()


def test_a_collection_run_records_its_counts_cursor_and_a_corrected_target(con):
    with warehouse.collection_run(con, "git", "acme/api") as run:
        run.counts["commits"] = 3
        run.cursor = {"head": "abc"}
        run.target = "acme/api-renamed"
    assert runs(con) == [("git", "acme/api-renamed", "succeeded", '{"commits": 3}', '{"head": "abc"}', None, True)]


def test_a_failed_run_keeps_what_it_committed_and_says_why(con):
    with pytest.raises(RuntimeError):
        with warehouse.collection_run(con, "git", "acme/api") as run:
            con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/api', 'api')")
            run.counts = {"commits": 1}
            raise RuntimeError("git died")
    assert runs(con) == [("git", "acme/api", "failed", '{"commits": 1}', None, "RuntimeError: git died", True)]
    assert con.execute("SELECT repo_id FROM repositories").fetchall() == [("acme/api",)]


def test_a_run_in_one_transaction_rolls_back_its_rows_when_it_fails(con):
    with pytest.raises(WarehouseError):  # an impactlens error is recorded with its own text
        with warehouse.collection_run(con, "incidents", "x.csv", transaction=True):
            con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/api', 'api')")
            raise WarehouseError("line 3: no opened_at")
    assert runs(con) == [("incidents", "x.csv", "failed", "{}", None, "line 3: no opened_at", True)]
    assert con.execute("SELECT count(*) FROM repositories").fetchall() == [(0,)]


def test_a_run_left_running_by_a_killed_process_becomes_interrupted_and_ctrl_c_is_interrupted(con):
    con.execute(
        "INSERT INTO collection_runs (run_id, source, target, started_at, status) "
        "VALUES ('killed', 'github', 'acme/api', now() - INTERVAL 1 HOUR, 'running'), "
        "('other', 'github', 'acme/web', now() - INTERVAL 1 HOUR, 'running')"
    )
    with pytest.raises(KeyboardInterrupt):
        with warehouse.collection_run(con, "github", "acme/api"):
            raise KeyboardInterrupt
    statuses = con.execute("SELECT run_id = 'killed', target, status, error FROM collection_runs ORDER BY 1, 2").fetchall()
    # acme/web's run is another target's: one writer at a time only settles its own source and target
    assert statuses == [(False, "acme/api", "interrupted", None), (False, "acme/web", "running", None),
                        (True, "acme/api", "interrupted", None)]


def test_cursors_are_read_back_per_source_and_target(con):
    warehouse.save_cursor(con, "github", "acme/api", "pulls", {"updated": "2026-01-01"})
    warehouse.save_cursor(con, "github", "acme/api", "issues", {"updated": "2026-01-02"})
    warehouse.save_cursor(con, "github", "acme/api", "pulls", {"updated": "2026-02-01"})  # replaced
    warehouse.save_cursor(con, "github", "acme/web", "pulls", {"updated": "2025-01-01"})
    assert warehouse.cursors(con, "github", "acme/api") == {
        "pulls": {"updated": "2026-02-01"}, "issues": {"updated": "2026-01-02"},
    }
    assert warehouse.cursors(con, "git", "acme/api") == {}


def test_bulk_rows_keep_types_nulls_and_lists_and_replace_on_the_key(con):
    con.execute("CREATE TABLE t (sha VARCHAR PRIMARY KEY, subject VARCHAR, committed_at TIMESTAMPTZ, "
                "parent_shas VARCHAR[], is_merge BOOLEAN, pr_number INTEGER)")
    columns = {
        "sha": ["a1", "b2"], "subject": ["Fix (#3)", None], "committed_at": [86400, 0],
        "parent_shas": [["p1", "p2"], []], "is_merge": [True, False], "pr_number": [3, None],
    }
    types = {"committed_at": "BIGINT", "parent_shas": "VARCHAR[]", "is_merge": "BOOLEAN", "pr_number": "INTEGER"}
    epoch = {"committed_at": "to_timestamp(committed_at)"}
    assert warehouse.upsert(con, "t", columns, types, expressions=epoch) == 2
    columns["subject"] = ["Fix again (#3)", "Second"]
    assert warehouse.upsert(con, "t", columns, types, expressions=epoch) == 2
    assert warehouse.upsert(con, "t", {"sha": []}) == 0
    stored = con.execute(
        "SELECT sha, subject, strftime(committed_at, '%Y-%m-%d %H:%M'), parent_shas, is_merge, pr_number "
        "FROM t ORDER BY sha"
    ).fetchall()
    assert stored == [("a1", "Fix again (#3)", "1970-01-02 00:00", ["p1", "p2"], True, 3),
                      ("b2", "Second", "1970-01-01 00:00", [], False, None)]
    with warehouse.staged(con, "_names", {"sha": ["b2", "zz"], "note": ["two", None]}) as count:
        assert count == 2
        assert con.execute("SELECT t.sha, n.note FROM t JOIN _names n USING (sha)").fetchall() == [("b2", "two")]
    with pytest.raises(duckdb.CatalogException):  # gone after the block
        con.execute("SELECT * FROM _names")
