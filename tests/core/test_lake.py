"""The Delta Lake form of the warehouse (impactlens/lake.py, docs/scale.md), with real components: the demo
warehouse exported and read back, real git repositories collected into one lake by two processes at once,
a collection killed and run again, and reports read from a lake."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from conftest import GitRepo
from helpers import impactlens
from impactlens import demo, lake, warehouse


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    return {**base, **extra}


def rows(con, table: str) -> list[tuple]:
    """Every row of ``table``, in one order (values compared as Python objects, so types count too)."""
    return sorted(con.sql(f'SELECT * FROM "{table}"').fetchall(), key=repr)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path, _ = demo.ensure(tmp_path_factory.getbasetemp() / "demo-shared" / "demo.duckdb")
    return path


@pytest.fixture(scope="module")
def demo_lake(demo_db, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("lake") / "lake"
    lake.export(demo_db, dest)
    return dest


def versions(dest: Path) -> dict[str, int]:
    return {name: DeltaTable(lake.table_path(dest, name)).version() for name in lake.tables(dest)}


def test_export_reads_back_every_table_row_for_row(demo_db, demo_lake):
    read = lake.open_lake(demo_lake)
    read.execute(f"ATTACH '{demo_db}' AS wh (READ_ONLY)")
    names = [r[0] for r in read.sql("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' "
                                    "AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'").fetchall()]
    assert sorted(names) == lake.tables(demo_lake)
    for name in names:
        # Same rows, as many times each, in both directions; and the same column types.
        counts = read.sql(f'SELECT (SELECT count(*) FROM "{name}"), (SELECT count(*) FROM wh."{name}"), '
                          f'(SELECT count(*) FROM (SELECT * FROM "{name}" EXCEPT ALL SELECT * FROM wh."{name}")), '
                          f'(SELECT count(*) FROM (SELECT * FROM wh."{name}" EXCEPT ALL SELECT * FROM "{name}"))').fetchall()
        n = counts[0][1]
        assert counts == [(n, n, 0, 0)], name
        described = [read.sql(f"SELECT column_name, column_type FROM (DESCRIBE {t})").fetchall()
                     for t in (f'"{name}"', f'wh."{name}"')]
        assert described[0] == described[1], name
    assert read.sql("SELECT count(*) FROM wh.commits").fetchall()[0][0] > 1000  # the demo, not an empty file
    # The lake keeps the warehouse's types (a reader gets TIMESTAMPTZ, SMALLINT and lists back).
    assert read.sql("SELECT typeof(authored_at), typeof(author_utc_offset_minutes), typeof(parent_shas) "
                    "FROM commits LIMIT 1").fetchall() == [("TIMESTAMP WITH TIME ZONE", "SMALLINT", "VARCHAR[]")]
    repos = read.sql("SELECT count(DISTINCT repo_id) FROM wh.commits").fetchall()[0][0]
    months = read.sql("SELECT count(DISTINCT (repo_id, strftime(committed_at, '%Y-%m'))) FROM wh.commits").fetchall()[0][0]
    commits = lake.table_info(demo_lake, "commits")
    assert commits.partition_by == ("repo_id", "lake_month") and commits.schema_version == warehouse.SCHEMA_VERSION
    assert lake.table_info(demo_lake, "repositories").partition_by == ("repo_id",)
    assert lake.table_info(demo_lake, "people").partition_by == ()
    # One folder per repository, and one per month under it (hive paths other engines read).
    files = DeltaTable(lake.table_path(demo_lake, "commits")).file_uris()
    assert len({Path(f).parent.parent for f in files}) == repos
    assert len({Path(f).parent for f in files}) == months


def test_a_second_export_of_unchanged_data_commits_nothing(demo_db, demo_lake):
    before = versions(demo_lake)
    result = lake.export(demo_db, demo_lake)
    assert result.changed == [] and versions(demo_lake) == before


def test_changing_one_repository_rewrites_only_its_changed_partitions(demo_db, tmp_path):
    db = tmp_path / "wh.duckdb"
    shutil.copy(demo_db, db)
    dest = tmp_path / "lake"
    lake.export(db, dest)
    with warehouse.open_for_write(db) as con:
        repo, sha, month = con.sql("SELECT repo_id, sha, strftime(committed_at, '%Y-%m') FROM commits "
                                   "ORDER BY repo_id, sha LIMIT 1").fetchall()[0]
        con.execute("UPDATE commits SET subject = 'changed' WHERE repo_id = ? AND sha = ?", [repo, sha])
        gone = con.execute("SELECT repo_id FROM repositories WHERE repo_id <> ? ORDER BY 1 LIMIT 1", [repo]).fetchall()[0][0]
        issues_gone = con.execute("SELECT count(*) FROM issues WHERE repo_id = ?", [gone]).fetchall()[0][0]
        con.execute("DELETE FROM issues WHERE repo_id = ?", [gone])
    commits_before = set(DeltaTable(lake.table_path(dest, "commits")).file_uris())
    before = versions(dest)
    result = lake.export(db, dest)
    assert {t.table for t in result.changed} == {"commits", "issues"}
    after = versions(dest)
    assert {t for t in after if after[t] != before[t]} == {"commits", "issues"}
    now = set(DeltaTable(lake.table_path(dest, "commits")).file_uris())
    encoded = repo.replace("/", "%2F")
    # Exactly the one (repository, month) partition holding the changed commit was replaced.
    assert [Path(f).parent.as_posix().split("/commits/")[1] for f in commits_before - now] == [f"repo_id={encoded}/lake_month={month}"]
    assert [Path(f).parent.as_posix().split("/commits/")[1] for f in now - commits_before] == [f"repo_id={encoded}/lake_month={month}"]
    read = lake.open_lake(dest)
    assert read.execute("SELECT subject FROM commits WHERE repo_id = ? AND sha = ?", [repo, sha]).fetchall() == [("changed",)]
    assert issues_gone > 0 and read.execute("SELECT count(*) FROM issues WHERE repo_id = ?", [gone]).fetchall() == [(0,)]
    with warehouse.read_only(db) as con:
        for name in ("commits", "issues"):
            assert rows(read, name) == rows(con, name)


def _stamp(dest: Path, table: str, version: int) -> None:
    """Commit nothing but metadata saying ``version`` into a lake table (a lake from another impactlens)."""
    info = lake.table_info(dest, table)
    dt = DeltaTable(lake.table_path(dest, table))
    meta = {lake.VERSION_KEY: str(version), lake.COLUMNS_KEY: json.dumps([list(c) for c in info.columns])}
    write_deltalake(dt, pa.schema(dt.schema().to_arrow()).empty_table(), mode="append",
                    commit_properties=CommitProperties(custom_metadata=meta))


@pytest.mark.parametrize("offset, fix", [(1, "upgrade impactlens"), (-1, "impactlens db upgrade --lake")])
def test_a_lake_of_another_schema_version_is_refused_in_one_line(demo_lake, tmp_path, offset, fix):
    dest = tmp_path / "lake"
    shutil.copytree(demo_lake, dest)
    teams = rows(lake.open_lake(dest), "teams")
    _stamp(dest, "teams", warehouse.SCHEMA_VERSION + offset)
    with pytest.raises(lake.LakeError, match=fix):
        lake.open_lake(dest)
    if offset > 0:
        result = impactlens("report", "--team", "web", "--week", "2026-W40", "--lake", str(dest), env=env())
        assert result.returncode == 2 and fix in result.stderr and len(result.stderr.strip().splitlines()) == 1
        with pytest.raises(lake.LakeError, match=fix):
            lake.upgrade(dest)
        return
    upgraded = impactlens("db", "upgrade", "--lake", str(dest), env=env())
    # The older table is read at its version, migrated, and rewritten: the lake reads again, same rows.
    assert upgraded.returncode == 0, upgraded.stderr
    assert lake.table_info(dest, "teams").schema_version == warehouse.SCHEMA_VERSION
    assert rows(lake.open_lake(dest), "teams") == teams


def test_report_from_the_lake_equals_report_from_the_warehouse(demo_db, demo_lake):
    args = ("report", "--person", "maya-okafor", "--since", "2026-01-01", "--until", "2026-06-30", "--format", "json")
    from_db = impactlens(*args, "--db", str(demo_db), env=env())
    from_lake = impactlens(*args, "--lake", str(demo_lake), env=env())
    assert from_db.returncode == 0, from_db.stderr
    assert from_lake.returncode == 0, from_lake.stderr
    assert json.loads(from_lake.stdout) == json.loads(from_db.stdout)
    assert json.loads(from_db.stdout)  # a packet with content, not an empty answer


def _history(repo: GitRepo, who: str, n: int, year: int = 2024) -> None:
    """``n`` commits by ``who`` on day i+1 of month 1, 2, 3, 1, ... of ``year`` (i = 0..n-1)."""
    for i in range(n):
        repo.write(f"f{i}.py", f"x = {i}\n")
        repo.commit(f"change {i}", author=who, date=f"{year}-0{1 + i % 3}-0{1 + i}T10:00:00+00:00")


def _collect(path: Path, dest: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "impactlens", "collect", "git", str(path), "--lake", str(dest), "-q"],
                            env=env(**extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(path: Path, dest: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "impactlens", "collect", "git", str(path), "--lake", str(dest), "-q"],
                          env=env(**extra), capture_output=True, text=True, timeout=120)


def assert_both_repositories_landed(read) -> None:
    """The rows of two collectors run at once, `one` (5 commits by Ada) and `two` (3 by Ada, 1 by Bob; 9
    files in all), read back from the lake through ``read``: each commit and file once."""
    assert read.sql("SELECT repo_id, count(*), count(DISTINCT sha) FROM commits GROUP BY 1 ORDER BY 1").fetchall() == [
        ("one", 5, 5), ("two", 4, 4)]
    assert read.sql("SELECT repo_id FROM repositories ORDER BY 1").fetchall() == [("one",), ("two",)]
    assert read.sql("SELECT count(*), count(DISTINCT (repo_id, sha, path)) FROM commit_files").fetchall() == [(9, 9)]


def test_a_collector_run_again_after_another_published_the_same_person_writes_nothing(tmp_path):
    # Ada commits in both repositories: `one` sees her 2024-01-01..2024-03-05, `two` 2025-01-01..2025-03-03.
    # `two` publishes last, so the lake's identity row carries two's first/last seen. Those two columns are
    # worked out again over every repository when the lake is read, so `one` run again with nothing new
    # must not write her row back (nor, then, its bookkeeping): no table gets a new version.
    one, two = GitRepo(tmp_path / "one"), GitRepo(tmp_path / "two")
    _history(one, "Ada Lovelace <ada@example.com>", 5)
    _history(two, "Ada Lovelace <ada@example.com>", 3, year=2025)
    dest = tmp_path / "lake"
    for path in (one.path, two.path):
        done = _run(path, dest)
        assert done.returncode == 0, done.stderr
    before = versions(dest)
    again = _run(one.path, dest)
    assert again.returncode == 0, again.stderr
    assert versions(dest) == before
    con = lake.materialise(dest)
    assert con.sql("SELECT strftime(first_seen_at, '%Y-%m-%d'), strftime(last_seen_at, '%Y-%m-%d') FROM identities "
                   "WHERE identity_id = 'email:ada@example.com'").fetchall() == [("2024-01-01", "2025-03-03")]


def test_two_collectors_write_one_lake_at_once_and_people_resolve_across_repositories(tmp_path):
    one, two = GitRepo(tmp_path / "one"), GitRepo(tmp_path / "two")
    _history(one, "Ada Lovelace <ada@example.com>", 5)
    _history(two, "Ada Lovelace <ada@example.com>", 3, year=2025)  # last: 2025-03-03
    two.write("z.py", "z = 1\n")
    two.commit("bob's", author="Bob Byte <bob@example.com>", date="2025-03-09T10:00:00+00:00")
    dest = tmp_path / "lake"
    running = [_collect(one.path, dest), _collect(two.path, dest)]
    for proc in running:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    read = lake.open_lake(dest)
    assert_both_repositories_landed(read)
    # Each collector resolved its own repository; reading the lake resolves people across both: Ada is one
    # identity seen from her first commit in `one` (2024-01-01) to her last in `two` (2025-03-03).
    assert lake.needs_resolution(dest)
    con = lake.materialise(dest)
    assert con.sql("SELECT identity_id, strftime(first_seen_at, '%Y-%m-%d'), strftime(last_seen_at, '%Y-%m-%d') FROM identities "
                   "WHERE kind = 'email' ORDER BY 1").fetchall() == [
        ("email:ada@example.com", "2024-01-01", "2025-03-03"), ("email:bob@example.com", "2025-03-09", "2025-03-09")]
    assert con.sql("SELECT count(DISTINCT actor_id) FROM actors WHERE identity_id LIKE 'email:%'").fetchall() == [(2,)]
    # A collector run again with nothing new publishes nothing: not even its run's record, cursor or
    # last_collected_at (lake.BOOKKEEPING), which wait in its staging warehouse for the next change.
    before = versions(dest)
    again = _run(one.path, dest)
    assert again.returncode == 0, again.stderr
    assert versions(dest) == before
    runs = "SELECT count(*) FROM collection_runs WHERE source = 'git' AND target = 'one'"
    assert lake.open_lake(dest).sql(runs).fetchall() == [(1,)]
    # A new commit publishes its partition and the bookkeeping with it: both runs since are recorded.
    one.write("new.py", "n = 1\n")
    one.commit("new", author="Ada Lovelace <ada@example.com>", date="2024-04-01T10:00:00+00:00")
    assert _run(one.path, dest).returncode == 0
    after = versions(dest)
    assert {"commits", "commit_files", "collection_runs", "repositories", "sync_state"} <= {t for t in after if after[t] != before[t]}
    read = lake.open_lake(dest)
    assert read.sql(runs).fetchall() == [(3,)]
    assert read.sql("SELECT count(*) FROM commits WHERE repo_id = 'one'").fetchall() == [(6,)]
    with warehouse.read_only(lake.staging_path(dest, "one")) as staging:
        assert set(rows(staging, "collection_runs")) <= set(rows(read, "collection_runs"))  # none lost


def test_a_killed_collection_run_again_gives_the_rows_of_an_unkilled_one(tmp_path):
    repo = GitRepo(tmp_path / "svc")
    _history(repo, "Ada Lovelace <ada@example.com>", 6)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for point in ("collect", "derive", "publish"):  # publish: killed after its first table's commit
        assert _run(repo.path, killed, IMPACTLENS_TEST_DIE_IN=point).returncode == -9, point  # SIGKILL
    assert lake.tables(killed)  # the killed publish left part of the lake written
    assert _run(repo.path, killed).returncode == 0
    assert _run(repo.path, clean).returncode == 0
    a, b = lake.open_lake(killed), lake.open_lake(clean)
    for table in ("commits", "commit_files", "identities", "people"):
        assert rows(a, table) == rows(b, table), table
    assert a.sql("SELECT count(*) FROM commits").fetchall() == [(6,)]


def test_export_lake_command_and_its_errors(demo_db, tmp_path):
    dest = tmp_path / "lake"
    first = impactlens("export", "lake", str(dest), "--db", str(demo_db), env=env())
    assert first.returncode == 0, first.stderr
    with warehouse.read_only(demo_db) as con:  # every table but schema_version (the lake records it in metadata)
        n = con.sql("SELECT count(*) - 1 FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()[0][0]
    assert f"wrote {n} of {n} tables" in first.stdout
    second = impactlens("export", "lake", str(dest), "--db", str(demo_db), env=env())
    assert "up to date" in second.stdout
    missing = impactlens("report", "--team", "web", "--week", "2026-W40", "--lake", str(tmp_path / "none"), env=env())
    assert missing.returncode == 2 and "no lake at" in missing.stderr
    served = impactlens("dashboard", "--lake", str(tmp_path / "none"), "--no-browser", env=env())
    assert served.returncode == 2 and "no lake at" in served.stderr
    repo = GitRepo(tmp_path / "r")
    repo.commit("one")
    both = impactlens("collect", "git", str(repo.path), "--lake", str(dest), "--db", str(tmp_path / "x.duckdb"), env=env())
    assert both.returncode == 2 and "not both" in both.stderr


def test_collect_github_organisation_into_a_lake(tmp_path):
    """`collect github OWNER --lake`: one staging warehouse for the target, every repository it found published.
    (A --db collection of the same server takes as long again; the row equality of staging and lake is
    what test_export_reads_back_every_table_row_for_row covers.)"""
    from github_server import TOKEN, Data, GitHubServer

    data = Data()
    ada, bob = data.user("ada"), data.user("bob")
    for name, prs in (("acme/api", 2), ("acme/web", 1)):
        repo = data.repository(name)
        for number in range(1, prs + 1):
            data.pull_request(repo, number, author=ada if number == 1 else bob, created=f"2025-05-1{number}T09:00:00Z",
                              state="MERGED", merged=f"2025-05-1{number + 1}T09:00:00Z", merged_by=ada,
                              commits=[f"2025-05-1{number}T08:00:00Z"])
    dest = tmp_path / "lake"
    with GitHubServer(data) as server:
        done = subprocess.run([sys.executable, "-m", "impactlens", "collect", "github", "acme", "--api-url",
                               server.api_url, "--lake", str(dest)], env=env(GITHUB_TOKEN=TOKEN),
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Lake " in done.stdout and "wrote" in done.stdout
    read = lake.open_lake(dest)
    assert read.sql("SELECT repo_id, number, author_login, strftime(merged_at, '%Y-%m-%d') FROM pull_requests "
                    "ORDER BY 1, 2").fetchall() == [
        ("acme/api", 1, "ada", "2025-05-12"), ("acme/api", 2, "bob", "2025-05-13"), ("acme/web", 1, "ada", "2025-05-12")]
    assert read.sql("SELECT repo_id FROM repositories ORDER BY 1").fetchall() == [("acme/api",), ("acme/web",)]
    with warehouse.read_only(lake.staging_path(dest, "acme")) as staging:
        for table in ("pull_requests", "pr_timeline_events", "comments", "reviews"):
            assert rows(read, table) == rows(staging, table), table


def test_metric_tables_are_exported_and_read_back(tmp_path):
    repo = GitRepo(tmp_path / "svc")
    _history(repo, "Ada Lovelace <ada@example.com>", 4)
    db = tmp_path / "w.duckdb"
    for args in (("collect", "git", str(repo.path), "--db", str(db), "-q"), ("metrics", "--db", str(db), "-q")):
        done = impactlens(*args, env=env())
        assert done.returncode == 0, done.stderr
    dest = tmp_path / "lake"
    lake.export(db, dest)
    read = lake.open_lake(dest)
    with warehouse.read_only(db) as con:
        metric_tables = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_name LIKE 'metric_%' ORDER BY 1").fetchall()]
        assert "metric_commits" in metric_tables and set(metric_tables) <= set(lake.tables(dest))
        for name in metric_tables:
            assert rows(read, name) == rows(con, name), name
        assert len(rows(read, "metric_commits")) == 4
    assert lake.table_info(dest, "metric_commits").partition_by == ("repo_id",)


#: One column of each DuckDB type a lake must give back as it was (lake.stored_type), with values at the
#: edges of their ranges: the warehouse schema uses UBIGINT (hashes above 2**63), UINTEGER, SMALLINT,
#: INTEGER[], VARCHAR[], TIMESTAMPTZ, DATE, DOUBLE, BOOLEAN; the others are there so a migration may use them.
ROUND_TRIP = {
    "u8": ("UTINYINT", "255"), "u16": ("USMALLINT", "65535"), "u32": ("UINTEGER", "4294967295"),
    "u64": ("UBIGINT", "18446744073709551615"), "u128": ("UHUGEINT", "340282366920938463463374607431768211455"),
    "i8": ("TINYINT", "-128"), "i16": ("SMALLINT", "-32768"), "i32": ("INTEGER", "-2147483648"),
    "i64": ("BIGINT", "-9223372036854775808"), "i128": ("HUGEINT", "-170141183460469231731687303715884105728"),
    "dec": ("DECIMAL(38,10)", "'1234567890123456789012345678.0123456789'"), "dec4": ("DECIMAL(4,1)", "-999.9"),
    "f32": ("FLOAT", "1.5"), "f64": ("DOUBLE", "-2.25e300"), "flag": ("BOOLEAN", "true"),
    "day": ("DATE", "'2026-02-28'"), "at": ("TIMESTAMPTZ", "'2026-03-01 23:30:00.123456+02'"),
    "naive": ("TIMESTAMP", "'2026-03-01 23:30:00.654321'"), "ns": ("TIMESTAMP_NS", "'2026-03-01 23:30:00.123456789'"),
    "ms": ("TIMESTAMP_MS", "'2026-03-01 23:30:00.123'"), "clock": ("TIME", "'23:59:59.999999'"),
    "span": ("INTERVAL", "INTERVAL '1 year 2 months 3 days 04:05:06.000007'"),
    "uid": ("UUID", "'0f8fad5b-d9cb-469f-a165-70867728950e'"), "raw": ("BLOB", "'\\x00\\xFF'::BLOB"),
    "text": ("VARCHAR", "'naïve, \"quoted\"'"), "kind": ("ENUM('fix', 'feat')", "'feat'"),
    "ints": ("INTEGER[]", "[1, NULL, 3]"), "words": ("VARCHAR[]", "['a', 'b']"),
    "hashes": ("UBIGINT[]", "[18446744073709551615, 0]"), "triple": ("UINTEGER[3]", "[4294967295, 1, 2]"),
    "pair": ("STRUCT(\"the id\" UBIGINT, name VARCHAR)", "{'the id': 18446744073709551615, 'name': 'x'}"),
    "counts": ("MAP(VARCHAR, UINTEGER)", "MAP {'a': 4294967295}"),
}


def test_every_column_type_comes_back_from_the_lake_as_it_was_written(tmp_path):
    import duckdb

    con = duckdb.connect()
    warehouse.configure(con)
    columns = ", ".join(f'"{name}" {dtype}' for name, (dtype, _) in ROUND_TRIP.items())
    con.execute(f"CREATE TABLE kinds (repo_id VARCHAR, n INTEGER, {columns}, PRIMARY KEY (repo_id, n))")
    values = ", ".join(value for _, value in ROUND_TRIP.values())
    nulls = ", ".join("NULL" for _ in ROUND_TRIP)
    con.execute(f"INSERT INTO kinds VALUES ('acme/api', 1, {values}), ('acme/api', 2, {nulls}), ('acme/web', 1, {values})")
    dest = tmp_path / "lake"

    def same() -> None:
        read = lake.open_lake(dest)
        described = [c.sql("SELECT column_name, column_type FROM (DESCRIBE kinds)").fetchall() for c in (read, con)]
        assert described[0] == described[1]
        # As Python values (exact decimals and integers, datetimes, dicts), so a digit or a nanosecond lost shows.
        assert rows(read, "kinds") == rows(con, "kinds")
        assert len(rows(read, "kinds")) == 3

    assert [t.table for t in lake.export(con, dest).changed] == ["kinds"]
    same()
    assert lake.table_info(dest, "kinds").columns[5] == ("u64", "UBIGINT")
    # Unsigned and 128-bit integers are stored in a type that holds every value (Delta has no unsigned type).
    stored = pa.schema(DeltaTable(lake.table_path(dest, "kinds")).schema().to_arrow())
    assert [stored.field(c).type for c in ("u32", "u64", "u128")] == [pa.int64(), pa.decimal128(20, 0), pa.string()]
    # One partition changed: the partial overwrite (the path that used to fail on UBIGINT) writes only it.
    con.execute("UPDATE kinds SET u64 = 18446744073709551614 WHERE repo_id = 'acme/web'")
    result = lake.export(con, dest)
    assert [(t.table, t.partitions, t.whole) for t in result.changed] == [("kinds", 1, False)]
    same()
    assert lake.export(con, dest).changed == []


def test_a_table_an_older_impactlens_stored_unsigned_as_signed_is_rewritten_whole(tmp_path):
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE tallies (repo_id VARCHAR, commits UINTEGER)")
    con.execute("INSERT INTO tallies VALUES ('acme/api', 7)")
    dest = tmp_path / "lake"
    # As impactlens wrote it before the storage format: UINTEGER as Delta's int (Int32), no format key.
    meta = {lake.VERSION_KEY: str(warehouse.SCHEMA_VERSION),
            lake.COLUMNS_KEY: json.dumps([["repo_id", "VARCHAR"], ["commits", "UINTEGER"]])}
    write_deltalake(lake.table_path(dest, "tallies"), pa.table({"repo_id": ["acme/api"], "commits": pa.array([7], pa.int32())}),
                    partition_by=["repo_id"], commit_properties=CommitProperties(custom_metadata=meta))
    assert not lake.table_info(dest, "tallies").stored_current
    con.execute("INSERT INTO tallies VALUES ('acme/web', 4294967295)")
    assert [(t.table, t.whole) for t in lake.export(con, dest).changed] == [("tallies", True)]
    assert lake.table_info(dest, "tallies").stored_current
    assert rows(lake.open_lake(dest), "tallies") == [("acme/api", 7), ("acme/web", 4294967295)]


def test_metrics_into_a_lake_and_again_without_new_versions(demo_db, demo_lake, tmp_path):
    from impactlens.metrics.job import materialise as compute

    dest = tmp_path / "lake"
    shutil.copytree(demo_lake, dest)
    first = impactlens("metrics", "--lake", str(dest), "-q", env=env())
    assert first.returncode == 0, first.stderr
    # The rows `impactlens metrics` computes on the warehouse the lake was exported from.
    db = tmp_path / "wh.duckdb"
    shutil.copy(demo_db, db)
    read = lake.open_lake(dest)
    with warehouse.open_for_write(db) as con:
        run = compute(con)
        assert run.rows["metric_prs"] > 100
        for name in run.rows:
            assert rows(read, name) == rows(con, name), name
    # metric_prs.pr_id is a hash (UBIGINT): the demo has values above 2**63, which Delta's long cannot hold.
    assert read.sql("SELECT max(pr_id) > 9223372036854775807 FROM metric_prs").fetchall() == [(True,)]
    before = versions(dest)
    second = impactlens("metrics", "--lake", str(dest), env=env())
    assert second.returncode == 0, second.stderr
    after = versions(dest)
    # Only metric_runs (when the metrics were computed) has a new version; its rows are one per table.
    assert {t for t in after if after[t] != before[t]} == {"metric_runs"}
    assert "wrote 1 of 17 tables" in second.stdout
    runs = lake.open_lake(dest).sql("SELECT table_name, count(*) FROM metric_runs GROUP BY 1 HAVING count(*) > 1").fetchall()
    assert runs == [] and len(rows(lake.open_lake(dest), "metric_runs")) == len(run.rows)
    both = impactlens("metrics", "--lake", str(dest), "--db", str(db), env=env())
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_collector_that_lost_the_race_to_create_a_table_merges_into_it(tmp_path, monkeypatch):
    """Two collectors publishing their first rows at once both see no `identities` table; the one that
    commits second must merge into the table the first created, not replace it (a retried whole overwrite
    dropped the first one's identities: seen on the S3 lake, where no lock orders the two). The race is made
    deterministic here: the second publisher is told the table does not exist after the first created it."""
    dest = tmp_path / "lake"
    stagings = []
    for name, who in (("one", "Ada Lovelace <ada@example.com>"), ("two", "Bob Byte <bob@example.com>")):
        repo = GitRepo(tmp_path / name)
        _history(repo, who, 2)
        staging = tmp_path / f"{name}.duckdb"
        done = impactlens("collect", "git", str(repo.path), "--db", str(staging), "-q", env=env())
        assert done.returncode == 0, done.stderr
        stagings.append(staging)
    lake.publish(stagings[0], dest)
    real, stale = lake.table_info, ["identities"]  # the view taken before the first one's commit, once
    monkeypatch.setattr(lake, "table_info", lambda d, t: None if t in stale and not stale.remove(t) else real(d, t))
    lake.publish(stagings[1], dest)
    monkeypatch.undo()
    read = lake.open_lake(dest)
    assert read.sql("SELECT identity_id FROM identities WHERE kind = 'email' ORDER BY 1").fetchall() == [
        ("email:ada@example.com",), ("email:bob@example.com",)]
    assert read.sql("SELECT repo_id, count(*) FROM commits GROUP BY 1 ORDER BY 1").fetchall() == [("one", 2), ("two", 2)]
