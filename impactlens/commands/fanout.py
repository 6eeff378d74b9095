"""Collection fan-out on Spark: ``collect github ORG --lake DEST --engine spark`` (docs/scale.md).

The driver lists the organisation's repositories (one request page per 100), then Spark runs one task per
repository (``sc.parallelize(tasks, len(tasks)).map(run_one)``). A task:

1. authenticates with its token (tasks take the names in ``token_envs`` round-robin, so the request budget
   is spread over the tokens; the token itself stays in the task's environment, never in a task's data),
2. collects its repository into its own staging warehouse ``lake.staging_path(DEST, repo)`` (the very
   collector of ``collect github OWNER/REPO --lake``, derivation included),
3. publishes that repository's partitions with :func:`impactlens.lake.publish_repository`, under the lake's
   writer lock: a repository's partitions are replaced, never appended to, so a task Spark runs again
   (``spark.task.maxFailures``) leaves each row once.

A failed attempt raises so Spark retries it; the last attempt returns its error as the repository's status
instead, so one bad repository does not lose the others' table. Identity resolution across repositories runs
when the lake is read (:func:`impactlens.lake.materialise`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

#: Attempts per task (``spark.task.maxFailures``; on ``local[N]`` the master is ``local[N,F]``).
MAX_ATTEMPTS = 3

#: Test hook: ``IMPACTLENS_TEST_FAIL_ONCE=owner/repo`` makes that repository's first attempt die after it
#: published (tests/collectors/test_spark_collect.py: the retry must overwrite, not append).
TEST_FAIL_ONCE_ENV = "IMPACTLENS_TEST_FAIL_ONCE"


@dataclass(frozen=True)
class Task:
    """One repository to collect: ``repo`` ``owner/name``, the name of the environment variable holding
    its token (None: a GitHub App from ``GITHUB_APP_*``), and the collection's options."""

    repo: str
    dest: str
    token_env: str | None
    api_url: str | None = None
    since: str | None = None
    config_path: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What one task did: ``rows`` collected this run (rows written, all tables), ``requests`` sent,
    ``status`` ``succeeded`` / ``failed: <message>`` / ``stopped: <rate limit message>``, ``attempts``."""

    repo: str
    rows: int
    requests: int
    status: str
    attempts: int


def plan(repos: Sequence[str], dest: str | os.PathLike[str], token_envs: Sequence[str], *,
         api_url: str | None = None, since: str | None = None, config_path: str | None = None) -> list[Task]:
    """One :class:`Task` per repository, the token variables ``token_envs`` assigned round-robin (empty:
    every task authenticates as the GitHub App, each minting its own installation token)."""
    return [Task(repo, str(dest), token_envs[i % len(token_envs)] if token_envs else None, api_url, since,
                 config_path) for i, repo in enumerate(repos)]


def _attempt() -> int:
    """This task's attempt number (0 first), 0 outside Spark."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return 0
    context = TaskContext.get()
    return context.attemptNumber() if context is not None else 0


def run_one(task: Task, max_attempts: int = MAX_ATTEMPTS) -> Outcome:
    """Collect and publish one repository (runs in a Spark task; also callable directly).

    Raises (so Spark runs the task again) unless this is the last attempt, which returns the error as
    the status."""
    attempt = _attempt()
    try:
        rows, requests, status = _collect_and_publish(task, attempt)
    except Exception as exc:  # noqa: BLE001 - any failure is retried by Spark, then reported
        if attempt + 1 < max_attempts:
            raise
        return Outcome(task.repo, 0, 0, f"failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                       attempt + 1)
    return Outcome(task.repo, rows, requests, status, attempt + 1)


def _collect_and_publish(task: Task, attempt: int) -> tuple[int, int, str]:
    from impactlens import config as config_mod
    from impactlens import lake, warehouse
    from impactlens.collectors.github import GitHubClient, collect_github
    from impactlens.derive import after_collection

    owner, name = task.repo.split("/", 1)
    cfg = config_mod.resolve(Path(task.config_path) if task.config_path else None)
    lake.configure(cfg.lake.storage_options)  # a remote lake: the executor's environment holds the credentials
    client = GitHubClient.from_environment(api_url=task.api_url, token_env=task.token_env or "", owner=owner,
                                           repo=name)
    staging = lake.staging_path(task.dest, task.repo)
    staging.parent.mkdir(parents=True, exist_ok=True)
    key = f"github {task.repo.lower()} since={task.since} include=[] exclude=[]"
    this = warehouse.Job(command=f"impactlens collect github {task.repo} --lake {task.dest} (a Spark task)",
                         resumes=key)
    with warehouse.writing(staging, job=this) as con:
        result = collect_github(con, task.repo, client=client, since=task.since, config=cfg)
        this.reached("derive")
        rows = sum(sum(v for k, v in r.counts.items() if not k.startswith("changed_") and k != "requests")
                   for r in result.repositories)
        if rows or warehouse.derive_pending(con):
            after_collection(con, cfg)
    if result.failures:
        raise RuntimeError(result.failures[0].error or "failed")
    lake.publish_repository(staging, task.dest, task.repo)
    if os.environ.get(TEST_FAIL_ONCE_ENV) == task.repo and attempt == 0:
        raise RuntimeError(f"{TEST_FAIL_ONCE_ENV}: {task.repo} dies once after publishing")
    status = f"stopped: {result.stopped}" if result.stopped else "succeeded"
    return rows, result.requests, status


def run(tasks: Sequence[Task], *, master: str | None = None, max_attempts: int = MAX_ATTEMPTS) -> list[Outcome]:
    """Run ``tasks`` on Spark, one partition each, every task tried up to ``max_attempts`` times.

    ``master`` defaults to ``local[2,max_attempts]`` (Spark's local mode only retries with the ``,F`` form);
    on a cluster ``spark.task.maxFailures`` is set to ``max_attempts``. Returns the outcomes in task order.

    Raises:
        impactlens.metrics.spark.SparkUnavailable: pyspark or Java missing.
    """
    from impactlens.metrics import spark as engine

    if not tasks:
        return []
    master = master or os.environ.get("IMPACTLENS_SPARK_MASTER") or f"local[2,{max_attempts}]"
    session = engine.session(master, {"spark.task.maxFailures": str(max_attempts)})
    sc = session.sparkContext
    return sc.parallelize(list(tasks), len(tasks)).map(lambda t: run_one(t, max_attempts)).collect()


def table(outcomes: Sequence[Outcome]) -> str:
    """The per-repository result table (repo, rows, requests, status) as aligned text, with a total line."""
    header = ("repository", "rows", "requests", "status")
    lines: list[tuple[str, ...]] = [header]
    for o in outcomes:
        status = o.status if o.attempts <= 1 else f"{o.status} (attempt {o.attempts})"
        lines.append((o.repo, f"{o.rows:,}", f"{o.requests:,}", status))
    failed = sum(1 for o in outcomes if not o.status.startswith("succeeded"))
    lines.append((f"{len(outcomes)} repositories", f"{sum(o.rows for o in outcomes):,}",
                  f"{sum(o.requests for o in outcomes):,}", f"{failed} not succeeded"))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = []
    for line in lines:
        out.append("  ".join((cell.rjust(w) if i in (1, 2) else cell.ljust(w)) for i, (cell, w)
                             in enumerate(zip(line, widths))).rstrip())
    return "\n".join(out)


def owner_repositories(owner: str, *, api_url: str | None, token_env: str | None,
                       include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[str]:
    """The ``owner/name`` of every repository of ``owner`` the globs select, listed on the driver."""
    from impactlens.collectors.github import GitHubClient, selected

    client = GitHubClient.from_environment(api_url=api_url, token_env=token_env or "", owner=owner)
    return [r["full_name"] for r in client.owner_repositories(owner)
            if selected(r["name"], r["full_name"], include, exclude)]


def summary_rows(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """The outcomes as dicts (for tests and JSON)."""
    return [o.__dict__.copy() for o in outcomes]
