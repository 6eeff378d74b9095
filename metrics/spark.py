"""The metric jobs on Spark: the repo-local tables computed per repository partition, by the same Polars code.

Spark only moves Arrow batches and calls the functions of :mod:`impactlens.metrics.job`; no definition is
written again in SQL or Spark (docs/scale.md "Metrics on Spark"):

1. The driver reads the rows of every table the metrics read that carries a ``repo_id`` (pull requests,
   reviews, comments, timeline, issues, commits, files, co-authors, incidents, deployments) and turns them into
   rows ``(repo_id, tbl, batch)``: ``batch`` is an Arrow IPC stream of up to :data:`BATCH_ROWS` rows of table
   ``tbl`` of repository ``repo_id``.
2. Identity resolution and team history are computed once, on the driver: the ``actors`` view (identity ->
   person, bot flags) is materialised and, with ``people``, ``identities`` and ``team_memberships``, sent to
   every task once as a Spark broadcast.
3. ``groupBy("repo_id").applyInArrow(...)``: each task gets one repository's rows, builds
   :func:`~impactlens.metrics.frames.from_arrow` Frames of them plus the broadcast tables, runs the builds of the
   repo-local tables (:data:`~impactlens.metrics.job.REPO_LOCAL`) and returns each table's rows as IPC batches.
4. The driver concatenates each table's partitions. The tables that read several repositories (a person's
   throughput, mentoring, review load, DORA per team) are computed by the caller, the metrics job, in the
   driver, from the whole warehouse.

Needs pyspark (the dev dependency group) and Java 17 (``java`` on the PATH or ``JAVA_HOME``).
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Iterator

import duckdb
import polars as pl
import pyarrow as pa

from impactlens import config as config_mod
from impactlens.errors import ImpactlensError

#: The warehouse tables the metrics read, per repository (each has a ``repo_id`` column).
PARTITIONED = (
    "repositories", "pull_requests", "reviews", "comments", "pr_timeline_events", "issues", "commits",
    "commit_files", "commit_coauthors", "incidents", "deployments",
)

#: The tables every task receives whole (a broadcast): identity resolution and team history.
BROADCAST = ("people", "identities", "team_memberships")

#: Rows per Arrow IPC batch moved through Spark (each batch is one binary value; Spark's limit is 2 GiB).
BATCH_ROWS = 200_000

#: The schema of the rows moved in and out of the tasks.
ROWS_SCHEMA = "repo_id string, tbl string, batch binary"

#: Spark settings for one machine shared with other work: two cores, few shuffle partitions, no UI.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "2g",
}

# PySpark 4.3 warns on every Arrow UDF that it does not fully support pandas 3 (which it does not use here).
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


class SparkUnavailable(ImpactlensError):
    """pyspark is not installed or Java cannot be started (the message says which)."""


def session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """The Spark session (one per process: ``getOrCreate``), started with :data:`LOCAL_CONF`.

    Args:
        master: the master URL, default ``local[2]`` (``$IMPACTLENS_SPARK_MASTER`` when set). On a cluster,
            run the command under ``spark-submit`` (which sets the master) or give ``spark://host:7077``,
            ``yarn``, ``k8s://...``.
        conf: more Spark settings.

    Raises:
        SparkUnavailable: pyspark is missing or Java is not found.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("pyspark is not installed: uv sync (it is in the dev group) or pip install pyspark") \
            from None
    if not os.environ.get("JAVA_HOME") and not _on_path("java"):
        raise SparkUnavailable("Spark needs Java 17 or later: install it (apt-get install openjdk-17-jre) "
                               "or set JAVA_HOME")
    # The tasks' Python is this one (same packages), unless the cluster says otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("impactlens")
    master = master or os.environ.get("IMPACTLENS_SPARK_MASTER")
    if master or not os.environ.get("SPARK_HOME"):
        builder = builder.master(master or "local[2]")
    for key, value in {**LOCAL_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _on_path(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


# ---------------------------------------------------------------------------- Arrow batches


def to_ipc(table: pa.Table) -> bytes:
    """``table`` as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(batches: list[bytes]) -> pa.Table:
    """The table the IPC streams ``batches`` hold, concatenated (they share one schema)."""
    return pa.concat_tables([pa.ipc.open_stream(b).read_all() for b in batches])


def _chunks(table: pa.Table) -> Iterator[pa.Table]:
    if table.num_rows == 0:
        yield table
    for start in range(0, table.num_rows, BATCH_ROWS):
        yield table.slice(start, BATCH_ROWS)


def partition_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every row of :data:`PARTITIONED` as (repo_id, tbl, batch): IPC batches of one table and repository.

    Rows without a repository (incidents of none) are left out: the job then computes the incident tables
    in the driver (:func:`impactlens.metrics.job.incidents_cross_repositories`)."""
    repos, names, batches = [], [], []
    for name in PARTITIONED:
        table = con.sql(f"SELECT * FROM {name} WHERE repo_id IS NOT NULL ORDER BY repo_id").to_arrow_table()
        if table.num_rows == 0:
            continue
        runs = pl.from_arrow(table.select(["repo_id"]))["repo_id"].rle().struct.unnest()  # len, value: sorted
        start = 0
        for length, repo_id in runs.iter_rows():
            for chunk in _chunks(table.slice(start, length)):
                repos.append(repo_id)
                names.append(name)
                batches.append(to_ipc(chunk))
            start += length
    return pa.table({"repo_id": pa.array(repos, pa.string()), "tbl": pa.array(names, pa.string()),
                     "batch": pa.array(batches, pa.binary())})


def broadcast_tables(con: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
    """The tables every task needs whole, as IPC streams: :data:`BROADCAST` and the ``actors`` view's rows
    (identity resolution, computed once here)."""
    tables = {name: to_ipc(con.sql(f"SELECT * FROM {name}").to_arrow_table()) for name in BROADCAST}
    tables["actors"] = to_ipc(con.sql("SELECT * FROM actors").to_arrow_table())
    return tables


# ---------------------------------------------------------------------------- the tasks


def _rows_out(bucket: list[str | None], tbl: list[str], batch: list[bytes]) -> pa.Table:
    return pa.table({"bucket": pa.array(bucket, pa.string()), "tbl": pa.array(tbl, pa.string()),
                     "batch": pa.array(batch, pa.binary())})


def _add(out: tuple[list, list, list], bucket: str | None, name: str, frame: pl.DataFrame) -> None:
    from impactlens.metrics.frames import plain

    for chunk in _chunks(plain(frame).to_arrow()):
        out[0].append(bucket)
        out[1].append(name)
        out[2].append(to_ipc(chunk))


def _by_table(rows: pa.Table) -> dict[str, list[bytes]]:
    by_table: dict[str, list[bytes]] = {}
    for name, batch in zip(rows.column("tbl").to_pylist(), rows.column("batch").to_pylist()):
        if name:  # '' marks a bucket that has no rows (it still gets a task)
            by_table.setdefault(name, []).append(batch)
    return by_table


def _frame(batches: list[bytes]) -> pl.DataFrame:
    """The coded frame (key columns Categorical, as Frames hold them) of IPC ``batches`` of one frame."""
    from impactlens.metrics.frames import coded

    return coded(_concat(batches))


def _concat(batches: list[bytes]) -> pl.DataFrame:
    """The rows of IPC ``batches`` of one frame, concatenated. Relaxed: one repository's or bucket's rows may
    have a column of nulls only (Polars' Null type) where others have values."""
    return pl.concat([pl.from_arrow(pa.ipc.open_stream(b).read_all()) for b in batches],  # type: ignore[misc]
                     how="vertical_relaxed")


def same_polars(driver: str | None) -> None:
    """Raise unless this process runs Polars ``driver`` (the driver's version; None: no check). Buckets hash keys
    with Polars (:func:`impactlens.metrics.buckets.bucket_of`), whose hash is stable only within one version: a
    worker with another one would send rows to the wrong bucket, and they would be dropped without a word."""
    if driver is not None and pl.__version__ != driver:
        raise SparkUnavailable(f"the Spark workers run polars {pl.__version__} and the driver {driver}: install the "
                               "same version everywhere (buckets hash keys with Polars)")


def run_partition(key: tuple[Any, ...], rows: pa.Table, *, shared: Any, config: config_mod.Config,
                  names: tuple[str, ...], buckets: int = 0, dora_team: bool = True,
                  polars_version: str | None = None) -> pa.Table:
    """One task of the first stage: the repo-local tables ``names`` of one repository, from its rows and the
    broadcast ``shared``, and, with ``buckets``, what the bucket stage needs of the repository
    (:func:`impactlens.metrics.buckets.route` and :func:`~impactlens.metrics.buckets.partials`).

    Args:
        key: (repo_id,) of the group.
        rows: the group's (repo_id, tbl, batch) rows (:func:`partition_rows`).
        shared: the Spark broadcast of :func:`broadcast_tables` (or that dict itself).
        config: the effective configuration.
        names: the metric tables to compute (repo-local ones).
        buckets: the number of person and of team buckets (0: no bucket stage).
        dora_team: route what DORA per team reads (False when incidents cross repositories).
        polars_version: the driver's Polars version (:func:`same_polars`).

    Returns (bucket, tbl, batch) rows: ``bucket`` null for the driver (each metric table's rows, and the
    partials as ``partial:NAME``), else the bucket ('p0', 't3', ...) a frame's rows go to (``tbl`` the frame's
    name, '' with an empty batch to give every team bucket a task). Keys are strings; a table with no rows
    still has one batch (its schema).
    """
    from impactlens.metrics import buckets as stage
    from impactlens.metrics.frames import from_arrow
    from impactlens.metrics.job import builds

    same_polars(polars_version)
    broadcast = shared.value if hasattr(shared, "value") else shared
    tables = {name: from_ipc([data]) for name, data in broadcast.items()}
    tables.update({name: from_ipc(batches) for name, batches in _by_table(rows).items()})
    frames = from_arrow(tables, config=config)
    out: tuple[list, list, list] = ([], [], [])
    for name, build in builds(frames, names).items():
        _add(out, None, name, build())
    if buckets:
        for name, frame in stage.partials(frames).items():
            _add(out, None, f"partial:{name}", frame)
        for name, frame in stage.route(frames, buckets, dora_team=dora_team).items():
            for (bucket,), part in frame.group_by(["_bucket"]):
                _add(out, bucket, name, part.drop("_bucket"))
        for number in range(buckets):
            out[0].append(f"t{number}")
            out[1].append("")
            out[2].append(b"")
    frames.con.close()
    return _rows_out(*out)


def run_bucket(key: tuple[Any, ...], rows: pa.Table, *, shared: Any, seeds: Any, config: config_mod.Config,
               names: tuple[str, ...], buckets: int, polars_version: str | None = None) -> pa.Table:
    """One task of the bucket stage: the tables ``names`` (of :data:`impactlens.metrics.buckets.BUCKETED`) for
    the people or teams of one bucket (:func:`impactlens.metrics.buckets.run`).

    Args:
        key: (bucket,) of the group, e.g. ('p2',).
        rows: the group's (bucket, tbl, batch) rows from the first stage.
        shared: the broadcast of :func:`broadcast_tables`; seeds: the broadcast of the reduced partials
            (name -> IPC stream, :func:`impactlens.metrics.buckets.reduce`).
        config, names, buckets, polars_version: as :func:`run_partition`.

    Returns (bucket, tbl, batch) rows: each table's rows of the bucket.
    """
    from impactlens.metrics import buckets as stage

    same_polars(polars_version)
    bucket = key[0].as_py() if hasattr(key[0], "as_py") else key[0]
    broadcast = shared.value if hasattr(shared, "value") else shared
    given = seeds.value if hasattr(seeds, "value") else seeds
    frames = stage.bucket_frames(
        {name: from_ipc([data]) for name, data in broadcast.items()},
        {name: _frame(batches) for name, batches in _by_table(rows).items()},
        {name: _frame([data]) for name, data in given.items()},
        config=config,
    )
    out: tuple[list, list, list] = ([], [], [])
    for name, frame in stage.run(frames, bucket, buckets, names).items():
        _add(out, bucket, name, frame)
    frames.con.close()
    return _rows_out(*out)


#: The schema of the rows the tasks return.
OUT_SCHEMA = "bucket string, tbl string, batch binary"


def _collected(result: pa.Table) -> dict[str, pl.DataFrame]:
    parts: dict[str, list[bytes]] = {}
    for name, batch in zip(result.column("tbl").to_pylist(), result.column("batch").to_pylist()):
        parts.setdefault(name, []).append(batch)
    return {name: _concat(batches) for name, batches in parts.items()}


def default_buckets(spark: Any) -> int:
    """Person and team buckets when none are given: twice the cluster's default parallelism, at least 2."""
    return max(2, 2 * int(spark.sparkContext.defaultParallelism))


def metric_tables(
    con: duckdb.DuckDBPyConnection,
    config: config_mod.Config | None = None,
    *,
    master: str | None = None,
    names: tuple[str, ...] | None = None,
    buckets: int | None = None,
) -> dict[str, pl.DataFrame]:
    """The metric tables of the warehouse behind ``con`` computed in Spark: the repo-local ones per repository,
    the person and team ones per bucket (:mod:`impactlens.metrics.buckets`).

    Args:
        con: an open warehouse connection (its identities derived: ``derive.if_pending`` first).
        config: the effective configuration (default the defaults).
        master: the Spark master (:func:`session`).
        names: the tables, default :data:`~impactlens.metrics.job.REPO_LOCAL` and
            :data:`~impactlens.metrics.buckets.BUCKETED`, less the incident tables and DORA per team when
            incidents cross repositories (:func:`~impactlens.metrics.job.incidents_cross_repositories`): the
            caller computes those in one process.
        buckets: person and team buckets (default :func:`default_buckets`).

    Returns table name -> its rows (keys as strings, as stored), in no particular row order.

    Raises:
        SparkUnavailable: no pyspark or no Java.
    """
    from impactlens.metrics.buckets import BUCKETED, reduce
    from impactlens.metrics.frames import coded, plain
    from impactlens.metrics.job import INCIDENT_TABLES, REPO_LOCAL, incidents_cross_repositories

    config = config if config is not None else config_mod.defaults()
    crossing = incidents_cross_repositories(con) > 0
    if names is None:
        names = tuple(n for n in (*REPO_LOCAL, *BUCKETED)
                      if not (crossing and n in (*INCIDENT_TABLES, "metric_dora_team_monthly")))
    local = tuple(n for n in names if n not in BUCKETED)
    bucketed = tuple(n for n in names if n in BUCKETED)
    spark = session(master)
    n = (buckets or default_buckets(spark)) if bucketed else 0
    dora_team = "metric_dora_team_monthly" in bucketed
    driver_polars = pl.__version__
    shared = spark.sparkContext.broadcast(broadcast_tables(con))
    seeds = None
    try:
        rows = spark.createDataFrame(partition_rows(con))

        def task(key, group):  # no annotations: PySpark reads them to choose the UDF's kind
            return run_partition(key, group, shared=shared, config=config, names=local, buckets=n,
                                 dora_team=dora_team, polars_version=driver_polars)

        first = rows.groupBy("repo_id").applyInArrow(task, OUT_SCHEMA).cache()
        out = _collected(first.filter("bucket IS NULL").toArrow())
        partial = {name.removeprefix("partial:"): coded(out.pop(name)) for name in list(out)
                   if name.startswith("partial:")}
        if n:
            seeds = spark.sparkContext.broadcast(
                {name: to_ipc(plain(frame).to_arrow()) for name, frame in reduce(partial).items()})

            def bucket_task(key, group):
                return run_bucket(key, group, shared=shared, seeds=seeds, config=config, names=bucketed, buckets=n,
                                  polars_version=driver_polars)

            out.update(_collected(
                first.filter("bucket IS NOT NULL").groupBy("bucket").applyInArrow(bucket_task, OUT_SCHEMA).toArrow()))
        first.unpersist()
    finally:
        shared.unpersist()
        if seeds is not None:
            seeds.unpersist()
    return {name: out[name] for name in names if name in out}
