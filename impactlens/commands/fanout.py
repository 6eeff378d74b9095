"""Collection fan-out on Spark: ``collect github ORG --lake DEST --engine spark`` and
``collect git PATH... --lake DEST --engine spark`` (docs/scale.md, "Collection fan-out").

The driver plans one task per repository (GitHub: the organisation's repositories, listed one request page per
100; git: the clone paths), then Spark runs them (``sc.parallelize(tasks, len(tasks)).map(run_one)``, one
partition each). A task:

1. collects its repository into its own staging warehouse ``lake.staging_path(DEST, repo)`` with the very
   collector and derivation of the single-process ``collect github OWNER/REPO --lake`` / ``collect git PATH
   --lake`` (a GitHub task authenticates with its token: tasks take the names in ``token_envs``
   round-robin, so the request budget is spread over the tokens; the token itself stays in the task's
   environment, never in a task's data),
2. publishes that repository's partitions with :func:`impactlens.lake.publish_repository`, under the lake's
   writer lock: a repository's partitions are replaced, never appended to, so a task Spark runs again
   (``spark.task.maxFailures``) leaves each row once.

A failed attempt raises so Spark retries it; the last attempt returns its error as the repository's status
instead, so one bad repository does not lose the others' table. A failure no retry can mend (a path that is
not a clone: :class:`Permanent`) is reported at its first attempt. Identity resolution across repositories
runs when the lake is read (:func:`impactlens.lake.materialise`).
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


class Permanent(Exception):
    """A task's failure that no retry can mend (a path that is not a clone): :func:`run_one` reports it
    at once instead of raising for Spark to run the task again."""


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

    def execute(self, attempt: int) -> "Outcome":
        """Collect and publish the repository (attempt ``attempt``, 0 first); raises on failure."""
        rows, requests, status = _collect_and_publish(self, attempt)
        return Outcome(self.repo, rows, requests, status, attempt + 1)

    def failed(self, status: str, attempts: int) -> "Outcome":
        """The outcome of a task that failed with ``status``."""
        return Outcome(self.repo, 0, 0, status, attempts)


@dataclass(frozen=True)
class GitTask:
    """One clone to collect: ``path`` (read where the task runs: on a cluster every executor must see it),
    ``dest`` the lake it publishes into (None: ``db``, the warehouse file several clones are collected into
    one after another by ``collect git PATH PATH`` without ``--lake``), and ``collect git``'s options."""

    path: str
    dest: str | None
    db: str | None = None
    branch: str | None = None
    since: str | None = None
    config_path: str | None = None

    def execute(self, attempt: int) -> "Outcome":
        """Collect the clone (into its staging warehouse, then publish it into the lake, or into ``db``)
        with :func:`impactlens.commands.git.collect_clone`; raises on failure, :class:`Permanent` when
        ``path`` is not a clone."""
        from impactlens import config as config_mod
        from impactlens import lake, warehouse
        from impactlens.collectors.git import open_repository
        from impactlens.commands.git import collect_clone
        from impactlens.derive import after_collection
        from impactlens.errors import ImpactlensError

        try:
            open_repository(self.path)
        except ImpactlensError as exc:
            raise Permanent(str(exc)) from None
        cfg = config_mod.resolve(Path(self.config_path) if self.config_path else None)
        where = f"--lake {self.dest}" if self.dest is not None else f"--db {self.db}"

        def job(key: str) -> warehouse.Job:  # as commands.job: a copy a killed derivation left is finished
            return warehouse.Job(command=f"impactlens collect git {self.path} {where} (a fan-out task)",
                                 resumes=key, finish=lambda con: after_collection(con, cfg))

        result, _derived, staging = collect_clone(
            Path(self.path), db=Path(self.db) if self.db else None, lake=self.dest,
            branch=self.branch, since=self.since, config=cfg, job=job)
        if self.dest is not None:
            lake.publish_repository(staging, self.dest, result.repo_id)
            _die_once_in_tests(result.repo_id, attempt)
        return Outcome(result.repo_id, result.commits_stored + result.files_stored, 0, "succeeded", attempt + 1,
                       self.path)

    def failed(self, status: str, attempts: int) -> "Outcome":
        """The outcome of a task that failed with ``status``."""
        return Outcome("", 0, 0, status, attempts, self.path)


def plan_git(paths: Sequence[str | os.PathLike[str]], dest: str | os.PathLike[str] | None, *,
             db: str | os.PathLike[str] | None = None, branch: str | None = None, since: str | None = None,
             config_path: str | None = None) -> list[GitTask]:
    """One :class:`GitTask` per clone path (``dest`` the lake; None: every clone into ``db`` in turn)."""
    return [GitTask(str(p), str(dest) if dest is not None else None, str(db) if db is not None else None,
                    branch, since, config_path) for p in paths]


@dataclass(frozen=True)
class Outcome:
    """What one task did: ``repo`` its repository id (``""`` when a clone could not be opened), ``rows``
    collected this run (GitHub: rows written, all tables; git: commits plus file changes stored),
    ``requests`` sent (GitHub; 0 for git), ``status`` ``succeeded`` / ``failed: <message>`` / ``stopped:
    <rate limit message>``, ``attempts``, and ``path`` the clone a git task read (``""`` for GitHub)."""

    repo: str
    rows: int
    requests: int
    status: str
    attempts: int
    path: str = ""


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


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_one(task: "Task | GitTask", max_attempts: int = MAX_ATTEMPTS) -> Outcome:
    """Collect and publish one repository (runs in a Spark task; also callable directly).

    Raises (so Spark runs the task again) unless this is the last attempt, which returns the error as
    the status; a :class:`Permanent` failure is returned at once."""
    attempt = _attempt()
    try:
        return task.execute(attempt)
    except Permanent as exc:
        return task.failed(f"failed: {_first_line(exc)}", attempt + 1)
    except Exception as exc:  # noqa: BLE001 - any failure is retried by Spark, then reported
        if attempt + 1 < max_attempts:
            raise
        return task.failed(f"failed: {_first_line(exc)}", attempt + 1)


def _die_once_in_tests(repo: str, attempt: int) -> None:
    """The :data:`TEST_FAIL_ONCE_ENV` hook, called right after ``repo`` was published."""
    if os.environ.get(TEST_FAIL_ONCE_ENV) == repo and attempt == 0:
        raise RuntimeError(f"{TEST_FAIL_ONCE_ENV}: {repo} dies once after publishing")


def _collect_and_publish(task: Task, attempt: int) -> tuple[int, int, str]:
    from impactlens import config as config_mod
    from impactlens import lake, warehouse
    from impactlens.collectors.github import GitHubClient, collect_github
    from impactlens.commands.github import resume_key
    from impactlens.commands.lake import staging_db
    from impactlens.derive import after_collection

    owner, name = task.repo.split("/", 1)
    cfg = config_mod.resolve(Path(task.config_path) if task.config_path else None)
    client = GitHubClient.from_environment(api_url=task.api_url, token_env=task.token_env or "", owner=owner,
                                           repo=name)
    # As the single-process command: its staging warehouse (a remote lake's storage options from the config;
    # the executor's environment holds the credentials) and its resume key.
    staging = staging_db(task.dest, task.repo, None, cfg)
    key = resume_key(task.repo, task.since)
    # As commands.job and a git task: a copy a killed derivation left is finished, not refused.
    this = warehouse.Job(command=f"impactlens collect github {task.repo} --lake {task.dest} (a Spark task)",
                         resumes=key, finish=lambda con: after_collection(con, cfg))
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
    _die_once_in_tests(task.repo, attempt)
    status = f"stopped: {result.stopped}" if result.stopped else "succeeded"
    return rows, result.requests, status


def run(tasks: "Sequence[Task | GitTask]", *, master: str | None = None, max_attempts: int = MAX_ATTEMPTS) -> list[Outcome]:
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


def run_here(tasks: "Sequence[Task | GitTask]") -> list[Outcome]:
    """Run ``tasks`` one after another in this process, each tried once (``collect git PATH PATH ...``
    without ``--engine spark``): the same outcomes and table as :func:`run`, no Spark needed."""
    return [run_one(t, 1) for t in tasks]


def table(outcomes: Sequence[Outcome]) -> str:
    """The per-repository result table as aligned text, with a total line: repository, rows, requests,
    status for GitHub tasks; repository, path, rows, status for git tasks (outcomes with a ``path``)."""
    git = any(o.path for o in outcomes)
    header = ("repository", "path", "rows", "status") if git else ("repository", "rows", "requests", "status")
    numeric = (2,) if git else (1, 2)
    lines: list[tuple[str, ...]] = [header]
    for o in outcomes:
        status = o.status if o.attempts <= 1 else f"{o.status} (attempt {o.attempts})"
        middle = (o.path or "-", f"{o.rows:,}") if git else (f"{o.rows:,}", f"{o.requests:,}")
        lines.append((o.repo or "-", *middle, status))
    failed = sum(1 for o in outcomes if not o.status.startswith("succeeded"))
    total = ("", f"{sum(o.rows for o in outcomes):,}") if git else (
        f"{sum(o.rows for o in outcomes):,}", f"{sum(o.requests for o in outcomes):,}")
    lines.append((f"{len(outcomes)} repositories", *total, f"{failed} not succeeded"))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = []
    for line in lines:
        out.append("  ".join((cell.rjust(w) if i in numeric else cell.ljust(w)) for i, (cell, w)
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
