"""The metrics job: compute every metric and store it in the warehouse as ``metric_*`` tables.

The tables are declared by the schema (impactlens/schema/005_metric_tables.sql; docs/schema.md "Metric
tables"). Each run replaces a table's rows whole, all in one transaction: each is written as soon as it is
computed, and a failure leaves every previous row in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Literal

import duckdb
import polars as pl

from impactlens import warehouse
from impactlens.metrics.defects import classify_commits, szz
from impactlens.metrics.dora import changes, deployment_facts, dora
from impactlens.metrics.frames import Frames, load, plain
from impactlens.metrics.incidents import incident_facts
from impactlens.metrics.mentoring import mentoring_summary, touchpoints
from impactlens.metrics.artifacts import artifacts
from impactlens.metrics.ownership import bus_factor, ownership
from impactlens.metrics.pr import pr_facts, throughput
from impactlens.metrics.review import review_cycles, review_load
from impactlens.config import Config


def _tables(frames: Frames) -> dict[str, Callable[[], pl.DataFrame]]:
    """Each metric table's build, in the order the job runs them.

    The order keeps the peak memory down: the tables reading the 10M-row commit frames come first, and
    each build then drops (:meth:`Frames.forget`) the frames no later table needs.
    """
    shares = lambda: review_load(frames, grain="month")  # noqa: E731

    def then_forget(build: Callable[[], pl.LazyFrame], *names: str) -> Callable[[], pl.DataFrame]:
        def run() -> pl.DataFrame:
            frame = build().collect()
            frames.forget(*names)
            return frame

        return run

    return {
        "metric_prs": then_forget(lambda: pr_facts(frames)),
        "metric_review_cycles": then_forget(lambda: review_cycles(frames), "review_cycles", "timeline", "ready_periods"),
        "metric_throughput_weekly": then_forget(lambda: throughput(frames, by="person", grain="week")),
        "metric_commits": then_forget(lambda: classify_commits(frames), "classified_commits", "issues"),
        "metric_ownership": then_forget(lambda: ownership(frames)),
        "metric_bus_factor": then_forget(lambda: bus_factor(frames), "ownership_depth2"),
        "metric_artifacts": then_forget(lambda: artifacts(frames), "commit_files"),
        "metric_incidents": then_forget(lambda: incident_facts(frames)),
        "metric_deployments": then_forget(lambda: deployment_facts(frames)),
        "metric_changes": then_forget(lambda: changes(frames)),
        "metric_touchpoints": then_forget(lambda: touchpoints(frames), "commits", "coauthors", "comments"),
        "metric_mentoring_monthly": then_forget(lambda: mentoring_summary(frames, by="person", grain="month"),
                                                "touchpoints", "experience"),
        "metric_review_load_monthly": then_forget(lambda: shares()[1]),
        "metric_review_shares_monthly": then_forget(lambda: shares()[0], "human_reviews", "reviews"),
        "metric_dora_repo_monthly": then_forget(lambda: dora(frames, by="repo", grain="month")),
        "metric_dora_team_monthly": then_forget(lambda: dora(frames, by="team", grain="month")),
    }


#: The tables whose rows for one repository are computed from that repository's rows alone (plus the people,
#: identities and team history): ``--engine spark`` computes them per repository partition (docs/scale.md
#: "Which metrics are repo-local"). The others read several repositories at once: a person's throughput and
#: mentoring, experience (first contribution anywhere) and the first five PRs behind touchpoints, review load
#: per team, DORA per team.
REPO_LOCAL = (
    "metric_prs", "metric_review_cycles", "metric_commits", "metric_ownership", "metric_bus_factor",
    "metric_artifacts", "metric_changes", "metric_incidents", "metric_deployments", "metric_dora_repo_monthly",
)

#: Of :data:`REPO_LOCAL`, the tables reading incidents: repo-local only while every incident has a repository
#: and any deployment recorded for it is of that repository (:func:`incidents_cross_repositories`).
INCIDENT_TABLES = ("metric_incidents", "metric_deployments", "metric_dora_repo_monthly")


def incidents_cross_repositories(con: duckdb.DuckDBPyConnection) -> int:
    """How many incidents have no repository, or a recorded deployment of another (or unknown) repository.

    With any, the incident tables (:data:`INCIDENT_TABLES`) are not repo-local: an incident of repository A
    marks a deployment of B failed."""
    return con.sql(
        "SELECT count(*) FROM incidents i LEFT JOIN deployments d USING (deployment_id) "
        "WHERE i.repo_id IS NULL OR (i.deployment_id IS NOT NULL AND d.repo_id IS DISTINCT FROM i.repo_id)"
    ).fetchall()[0][0]


def builds(frames: Frames, names: Iterable[str] | None = None) -> dict[str, Callable[[], pl.DataFrame]]:
    """The builds of the tables ``names`` (default all of :data:`TABLES`), in the job's order."""
    wanted = set(TABLES if names is None else names)
    return {name: build for name, build in _tables(frames).items() if name in wanted}


#: The tables ``impactlens metrics`` writes (metric_bug_introductions and metric_szz_repositories only with
#: ``--szz``).
TABLES = (
    "metric_prs", "metric_review_cycles", "metric_incidents", "metric_deployments", "metric_changes",
    "metric_commits", "metric_touchpoints", "metric_ownership", "metric_bus_factor", "metric_artifacts",
    "metric_throughput_weekly", "metric_mentoring_monthly", "metric_review_load_monthly",
    "metric_review_shares_monthly", "metric_dora_repo_monthly", "metric_dora_team_monthly",
)


@dataclass
class MetricsRun:
    """What a run wrote: table name -> row count, and the SZZ repositories skipped (with the reason)."""

    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    computed_at: datetime | None = None
    #: With ``--szz``: repo_id, bug_fixes (u32), one row per repository SZZ ran on.
    szz_repositories: pl.DataFrame | None = None
    #: With ``engine='spark'``: where the tables were computed (one line).
    engine_note: str | None = None

    def summary(self) -> str:
        lines = [f"Metric tables ({self.computed_at:%Y-%m-%d %H:%M} UTC):"] if self.computed_at else []
        lines += [self.engine_note] if self.engine_note else []
        lines += [f"  {name:<30} {count:>10,}" for name, count in self.rows.items()]
        lines += [f"  SZZ skipped {s}" for s in self.skipped]
        return "\n".join(lines)


def _bug_introductions(con: duckdb.DuckDBPyConnection, frames: Frames, run: MetricsRun) -> pl.DataFrame:
    """SZZ on every repository with a local clone; the analysed ones go to ``run.szz_repositories``.

    A repository is analysed when its clone (``repositories.source_path``) exists, even with no bug fix
    (SZZ then finds nothing: 0 is known). The others are skipped: their defect rate is unknown
    (docs/metrics.md "Defects").
    """
    fixes = (
        classify_commits(frames).filter(pl.col("is_bug_fix")).select(pl.col("repo_id").cast(pl.String), "sha").collect()
    )
    clones = {repo_id: path for repo_id, path in con.sql("SELECT repo_id, source_path FROM repositories").fetchall()
              if path and Path(path).exists()}
    found = [pl.DataFrame(schema={"repo_id": pl.String, "fix_sha": pl.String, "introducing_sha": pl.String,
                                  "path": pl.String})]
    by_repo = {repo_id: shas["sha"].to_list() for (repo_id,), shas in fixes.group_by(["repo_id"], maintain_order=True)}
    for repo_id in by_repo:
        if repo_id not in clones:
            run.skipped.append(f"{repo_id}: no local clone recorded (collect git first)")
    analysed = sorted(clones)
    for repo_id in analysed:
        if by_repo.get(repo_id):
            found.append(szz(clones[repo_id], repo_id, by_repo[repo_id]))
    run.szz_repositories = pl.DataFrame(
        {"repo_id": analysed, "bug_fixes": [len(by_repo.get(r, [])) for r in analysed]},
        schema={"repo_id": pl.String, "bug_fixes": pl.UInt32},
    )
    return pl.concat(found)


def _replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Replace every row of the declared ``table`` by ``frame``'s, matched by column name.

    Raises ``RuntimeError`` when the frame's columns or their types are not the table's (the metric and
    impactlens/schema/005_metric_tables.sql disagree: a change to one needs the other). A column of nulls
    only (Polars' Null type) fits any type.
    """
    declared = dict(con.execute(f"SELECT name, type FROM pragma_table_info('{table}')").fetchall())
    con.register("_metric_frame", frame.to_arrow())
    try:
        given = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM _metric_frame)").fetchall())
        wrong = [f"{name} {given.get(name, '(missing)')} (schema: {declared.get(name, 'none')})"
                 for name in {**declared, **given}
                 if given.get(name) != declared.get(name) and not (name in declared and given.get(name) == '"NULL"')]
        if wrong:
            raise RuntimeError(f"{table} does not fit its schema (impactlens/schema/): {', '.join(wrong)}")
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _metric_frame")
    finally:
        con.unregister("_metric_frame")


def materialise(
    con: duckdb.DuckDBPyConnection,
    config: Config | None = None,
    *,
    run_szz: bool = False,
    on_table: Callable[[str], None] | None = None,
    engine: Literal["local", "spark"] = "local",
    master: str | None = None,
) -> MetricsRun:
    """Compute every metric from the warehouse behind ``con`` and replace the rows of the ``metric_*`` tables.

    Args:
        con: a writable warehouse connection (``warehouse.writing(db)``).
        config: the effective configuration (business hours, bots); default the defaults.
        run_szz: also run SZZ on each bug fix of each repository with a local clone (slow) and write
            ``metric_bug_introductions`` and ``metric_szz_repositories`` (the repositories it ran on).
        on_table: called with each table's name as it is computed (progress).
        engine: 'local' (this process) or 'spark': the repo-local tables (:data:`REPO_LOCAL`) are computed per
            repository partition in Spark (:mod:`impactlens.metrics.spark`), the others here, by the same
            functions either way.
        master: with 'spark', the Spark master URL (default ``local[2]``; a cluster's, e.g. ``spark://host:7077``).

    Returns the row count of each table written.
    """
    frames = load(con, config=config)
    run = MetricsRun(computed_at=datetime.now(timezone.utc))
    builds = _tables(frames)
    if engine == "spark":
        from impactlens.metrics import spark

        done = spark.metric_tables(con, frames.config, master=master)
        for name, frame in done.items():
            builds[name] = lambda frame=frame: frame  # type: ignore[misc]
        from impactlens.metrics.buckets import BUCKETED

        here = [name for name in TABLES if name not in done]
        run.engine_note = (
            f"  computed in Spark: {sum(n not in BUCKETED for n in done)} tables per repository, "
            f"{sum(n in BUCKETED for n in done)} per bucket of people or teams; in this process: "
            + (", ".join(here) if here else "none")
            + (" (incidents cross repositories)" if here and incidents_cross_repositories(con) else ""))
    elif engine != "local":
        raise ValueError(f"engine must be 'local' or 'spark' (got {engine!r})")
    if run_szz:
        builds["metric_bug_introductions"] = lambda: _bug_introductions(con, frames, run)
        builds["metric_szz_repositories"] = lambda: run.szz_repositories
    # One transaction: each table is written as soon as it is computed (so only one result is held in
    # memory at a time), and a failure anywhere leaves every previous table in place.
    with warehouse.transaction(con):
        for name, build in builds.items():
            if on_table:
                on_table(name)
            frame = build()
            _replace_rows(con, name, plain(frame))
            run.rows[name] = frame.height
            del frame
        con.execute("DELETE FROM metric_runs")
        for name, count in run.rows.items():
            con.execute("INSERT INTO metric_runs VALUES (?, ?, ?)", [name, count, run.computed_at])
    return run
