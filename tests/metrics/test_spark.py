"""`impactlens metrics --engine spark`: the metric tables computed in Spark (local mode) equal the single-process ones.

Spark runs as local[2] with one session for the whole test session (starting the JVM costs seconds). Skipped,
saying why, when pyspark is not installed or no Java is found.

The two-repository organisation (hand-built; the figures below are worked out by hand):
  people a (login a) and b (login b), both in team core from 2023-01-01.
  acme/api: PR 1 by a, opened Mon 2024-01-01 09:00, merged Tue 2024-01-02 10:00; b approves it on the 2nd 09:00.
            deployment d-api, Tue 2024-01-02 12:00 (production, success).
  acme/web: PR 2 by a, opened Tue 2024-01-02 09:00, merged Wed 2024-01-03 10:00; b approves it on the 3rd 09:00.
            incident i-1 opened Wed 2024-01-03 13:00, resolved 15:00, recorded as caused by d-api (acme/api's).
  Cross-repository figures:
  - a's throughput, week of Mon 2024-01-01: prs_merged 2 (one per repository), prs_opened 2, repos_touched 2;
    b's: reviews_given 2, repos_touched 2.
  - review load, core, January: members a and b; b gave both reviews: share 1.0, a 0.0; Gini of [0, 2] = 0.5.
  - d-api failed (reason incident): an incident of acme/web marks acme/api's deployment failed, so the incident
    tables cannot be computed per repository and the job computes them in the driver.
"""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from impactlens import demo, warehouse
from impactlens.metrics import job
from builders import add_deployment, add_incident, add_member, add_person, add_pr, add_review

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (uv sync installs the dev group)")
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="session")
def spark():
    from impactlens.metrics import spark as engine

    if not shutil.which("java"):
        import os

        if not os.environ.get("JAVA_HOME"):
            pytest.skip("no Java (java on the PATH or JAVA_HOME): Spark needs Java 17")
    session = engine.session("local[2]")
    yield session
    session.stop()


def _tables(path) -> dict[str, pl.DataFrame]:
    con = warehouse.read_only(path)
    try:
        return {name: con.sql(f"SELECT * FROM {name}").pl() for name in job.TABLES}
    finally:
        con.close()


def _run(path, engine: str) -> job.MetricsRun:
    con = warehouse.open_for_write(path)
    try:
        return job.materialise(con, engine=engine)  # type: ignore[arg-type]
    finally:
        con.close()


def _same(local: dict[str, pl.DataFrame], spark: dict[str, pl.DataFrame]) -> None:
    assert sorted(spark) == sorted(local)
    for name, want in local.items():
        got = spark[name]
        assert got.columns == want.columns, name
        order = want.columns
        # Lists and structs do not sort: order by the other columns (they identify the rows).
        keys = [c for c, t in want.schema.items() if not isinstance(t, (pl.List, pl.Struct))]
        try:
            assert_frame_equal(got.select(order).sort(keys, nulls_last=True), want.sort(keys, nulls_last=True),
                               check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


@pytest.fixture
def recorded(monkeypatch):
    """The tables the Spark stage returned (so a test knows they were computed there, not in the driver)."""
    from impactlens.metrics import spark as engine

    seen: dict[str, int] = {}
    original = engine.metric_tables

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.update({name: frame.height for name, frame in out.items()})
        return out

    monkeypatch.setattr(engine, "metric_tables", recording)
    return seen


def test_every_metric_table_of_the_demo_equals_the_single_process_one(spark, tmp_path, recorded):
    built, _ = demo.ensure(tmp_path / "demo.duckdb")
    spark_db = tmp_path / "spark.duckdb"
    shutil.copy(built, spark_db)
    _run(built, "local")
    run = _run(spark_db, "spark")
    assert run.engine_note == ("  computed in Spark: 10 tables per repository, 6 per bucket of people or teams; "
                               "in this process: none")
    # The demo's incidents are each of their own repository's deployments: every table ran in Spark, the
    # repo-local ones per repository, the person and team ones per bucket; none in the driver.
    assert sorted(recorded) == sorted(job.TABLES)
    assert recorded["metric_prs"] > 1000
    local, on_spark = _tables(built), _tables(spark_db)
    assert all(local[name].height > 0 for name in job.TABLES)
    _same(local, on_spark)


@pytest.fixture
def two_repos(con, db_path):
    add_person(con, "p-a", logins=("a",))
    add_person(con, "p-b", logins=("b",))
    add_member(con, "p-a", "core", "2023-01-01")
    add_member(con, "p-b", "core", "2023-01-01")
    add_pr(con, 1, "a", "2024-01-01 09:00", repo="acme/api", merged_at="2024-01-02 10:00")
    add_review(con, 1, "b", "2024-01-02 09:00", repo="acme/api")
    add_pr(con, 2, "a", "2024-01-02 09:00", repo="acme/web", merged_at="2024-01-03 10:00")
    add_review(con, 2, "b", "2024-01-03 09:00", repo="acme/web")
    add_deployment(con, "d-api", "2024-01-02 12:00", repo="acme/api")
    add_incident(con, "i-1", "2024-01-03 13:00", resolved="2024-01-03 15:00", repo="acme/web",
                 deployment_id="d-api")
    con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/api', 'api'), ('acme/web', 'web')")
    con.close()
    return db_path


def test_two_repositories_cross_repository_figures(spark, two_repos, tmp_path, recorded):
    local_db = tmp_path / "local.duckdb"
    shutil.copy(two_repos, local_db)
    with warehouse.read_only(two_repos) as con:
        assert job.incidents_cross_repositories(con) == 1
    run = _run(two_repos, "spark")
    _run(local_db, "local")
    assert run.engine_note is not None and run.engine_note.endswith(
        "in this process: metric_incidents, metric_deployments, metric_dora_repo_monthly, metric_dora_team_monthly "
        "(incidents cross repositories)")
    # The incident crosses repositories: its tables and DORA per team were left to the driver; the PR tables ran
    # in Spark per repository, the person and review tables per bucket.
    assert "metric_prs" in recorded and recorded["metric_prs"] == 2
    assert not {*job.INCIDENT_TABLES, "metric_dora_team_monthly"} & set(recorded)
    assert {"metric_throughput_weekly", "metric_review_load_monthly", "metric_review_shares_monthly"} <= set(recorded)
    got = _tables(two_repos)
    _same(_tables(local_db), got)

    week = got["metric_throughput_weekly"].filter(pl.col("period_start").dt.date() == pl.date(2024, 1, 1))
    rows = {r["person_key"]: r for r in week.iter_rows(named=True)}
    assert (rows["p-a"]["prs_merged"], rows["p-a"]["prs_opened"], rows["p-a"]["repos_touched"]) == (2, 2, 2)
    assert (rows["p-b"]["reviews_given"], rows["p-b"]["repos_touched"]) == (2, 2)
    shares = {r["person_key"]: r["share"] for r in got["metric_review_shares_monthly"].iter_rows(named=True)}
    assert shares == {"p-a": 0.0, "p-b": 1.0}
    (team,) = got["metric_review_load_monthly"].iter_rows(named=True)
    assert (team["team_id"], team["members"], team["reviews"], team["gini"]) == ("core", 2, 2, 0.5)
    (deployment,) = got["metric_deployments"].iter_rows(named=True)
    assert deployment["deployment_id"] == "d-api" and deployment["failed"] is True


def test_cli_refuses_an_unknown_engine(tmp_path):
    from helpers import impactlens

    done = impactlens("metrics", "--db", str(tmp_path / "none.duckdb"), "--engine", "ray")
    assert done.returncode == 2
    assert "--engine must be local or spark" in done.stderr
