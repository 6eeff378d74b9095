"""GitHub collector: pull requests, reviews, comments, issues, milestones, releases, deployments and
CODEOWNERS history from github.com or GitHub Enterprise, through PyGithub, into the warehouse.

Public entry point: :func:`collect_github`. The pieces: :mod:`.client` (credentials, retries,
budget), :mod:`.queries` (GraphQL text), :mod:`.rows` (payloads -> rows), :mod:`.sync` (one
repository's pages and high-water marks), :mod:`.store` (warehouse writes).
"""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Sequence

import duckdb

from impactlens import config as config_mod
from impactlens import warehouse
from impactlens.collectors.github import store
from impactlens.collectors.github.client import (
    BadAnswerError, CredentialsError, GitHubClient, RateLimited, Settings, UnreachableError,
)
from impactlens.collectors.github.sync import RepositorySync
from impactlens.errors import CollectionError

__all__ = ["GitHubClient", "GitHubCollection", "RateLimited", "Settings", "collect_github", "parse_target"]

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass
class RepoOutcome:
    """What happened to one repository: ``status`` ``succeeded``, ``failed``, ``stopped`` (rate
    limit) or ``interrupted`` (Ctrl-C)."""

    repo_id: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    changed_pull_requests: int = 0
    changed_issues: int = 0
    error: str | None = None


@dataclass
class GitHubCollection:
    """What one :func:`collect_github` call did.

    ``stopped`` is the rate-limit message when the run had to stop early (everything stored before
    it is kept and the next run continues); ``failures`` lists repositories that failed while the
    others went on (organisation runs).
    """

    target: str
    repositories: list[RepoOutcome] = field(default_factory=list)
    requests: int = 0
    points: int = 0
    remaining: int | None = None
    seconds: float = 0.0
    stopped: str | None = None

    @property
    def failures(self) -> list[RepoOutcome]:
        return [r for r in self.repositories if r.status == "failed"]

    def summary(self) -> str:
        """A few human lines: per repository what changed, then the requests and points spent."""
        lines = []
        for repo in self.repositories:
            if repo.status == "failed":
                lines.append(f"{repo.repo_id}: failed: {repo.error}")
                continue
            stored = [
                f"{repo.counts[table]:,} {label}{'' if repo.counts[table] == 1 else 's'}"
                for table, label in _LABELS if repo.counts.get(table)
            ]
            if repo.status == "stopped":
                done = f"new or changed before it: {', '.join(stored)}." if stored else "nothing collected."
                lines.append(f"{repo.repo_id}: stopped early (the rate limit is spent); {done}")
                continue
            lines.append(
                f"{repo.repo_id}: " + (f"new or changed: {', '.join(stored)}." if stored else "up to date.")
            )
        left = f", {self.remaining:,} left" if self.remaining is not None else ""
        lines.append(
            f"{len(self.repositories)} {'repository' if len(self.repositories) == 1 else 'repositories'} in {self.seconds:.1f} s: {self.requests} requests, "
            f"{self.points} GraphQL points{left}."
        )
        return "\n".join(lines)


_LABELS = (  # table, what one row is
    ("pull_requests", "pull request"), ("reviews", "review"), ("comments", "comment"),
    ("pr_timeline_events", "timeline event"), ("issues", "issue"), ("milestones", "milestone"),
    ("releases", "release"), ("deployments", "deployment"), ("codeowners", "CODEOWNERS version"),
    ("login_emails", "commit email"),
)


def parse_target(target: str) -> tuple[str, str | None]:
    """``"owner/repo"`` -> ``("owner", "repo")``; ``"owner"`` -> ``("owner", None)``.

    Raises:
        CollectionError: not an owner or owner/repo name as GitHub allows them.
    """
    owner, _, repo = target.strip().strip("/").partition("/")
    if not _NAME.match(owner) or (repo and not _REPO.match(repo)) or "/" in repo:
        raise CollectionError(f"'{target}' is not OWNER or OWNER/REPO (for example octocat/hello-world).")
    return owner, repo or None


def parse_since(value: str | None) -> str | None:
    """``--since`` (a date ``2024-01-31`` or an ISO timestamp) as an ISO UTC timestamp.

    Raises:
        CollectionError: not a date.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CollectionError(f"--since {value!r} is not a date (use YYYY-MM-DD or an ISO timestamp).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def selected(name: str, full_name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    def hit(patterns: Sequence[str]) -> bool:
        return any(
            fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns for value in (name, full_name)
        )

    return (not include or hit(include)) and not hit(exclude)


def collect_github(
    con: duckdb.DuckDBPyConnection,
    target: str,
    *,
    client: GitHubClient | None = None,
    api_url: str | None = None,
    token_env: str = "GITHUB_TOKEN",
    since: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    config: config_mod.Config | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> GitHubCollection:
    """Collect ``target`` (``"owner/repo"``, or ``"owner"`` for every repository of a user or
    organisation, filtered by ``include``/``exclude`` globs on the name) from GitHub into ``con``.

    Writes ``repositories``, ``pull_requests``, ``reviews``, ``comments``, ``pr_timeline_events``,
    ``issues``, ``milestones``, ``releases``, ``deployments`` (source ``github_deployment``),
    ``codeowners``, a cursor per repository and resource in ``sync_state`` and one
    ``collection_runs`` row per repository. Every page is an upsert on primary keys written with its
    cursor in one transaction: running twice stores each row once, an interrupted run resumes, and an
    up-to-date repository costs one request. ``since`` (YYYY-MM-DD or ISO) bounds a first run.
    ``client`` defaults to :meth:`GitHubClient.from_environment` with ``api_url`` and ``token_env``.
    ``on_progress(text)`` gets a short line (with the request budget left) after every page.

    Returns a :class:`GitHubCollection`. A spent rate limit does not raise: the run stops, keeps what
    it stored and sets ``stopped`` to a message saying when to run again. In an organisation run a
    repository that fails is recorded in ``failures`` and the others continue.

    Raises:
        CollectionError: bad target or ``since``; missing, wrong or revoked credentials; an unknown
            owner or repository (404); GitHub failing after retries (single repository).
    """
    started = time.perf_counter()
    owner, repo = parse_target(target)
    since_iso = parse_since(since)
    cfg = config or config_mod.defaults()
    client = client or GitHubClient.from_environment(api_url=api_url, token_env=token_env, owner=owner, repo=repo)
    result = GitHubCollection(target=target)
    say = on_progress or (lambda _text: None)
    requests_before, points_before = client.budget.requests, client.budget.points

    if repo:
        repo_ids = [f"{owner}/{repo}"]
    else:
        try:
            listed = client.owner_repositories(owner)
        except RateLimited as exc:
            result.stopped = str(exc)
            return result
        repo_ids = [r["full_name"] for r in listed if selected(r["name"], r["full_name"], include, exclude)]
        say(f"{owner}: {len(repo_ids)} of {len(listed)} repositories selected")

    for repo_id in repo_ids:
        sync = RepositorySync(
            con, client, repo_id, config=cfg, since=since_iso,
            on_page=lambda text: say(f"{text} · {client.budget.describe()}"),
        )
        outcome = RepoOutcome(repo_id=repo_id, status="succeeded")
        spent = (client.budget.requests, client.budget.points)
        with warehouse.collection_run(con, store.SOURCE, repo_id) as run:
            try:
                sync.run()
            except RateLimited as exc:
                outcome.status, outcome.error = "stopped", str(exc)
                result.stopped = str(exc)
            except CollectionError as exc:
                outcome.status, outcome.error = "failed", str(exc)
                if repo or _fatal(exc):
                    raise
            except KeyboardInterrupt:
                outcome.status = "interrupted"  # Ctrl-C: the pages stored so far stay for the next run
                raise
            except BaseException as exc:
                outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
                raise
            finally:
                _close(con, run, sync, outcome, client, spent)
        result.repositories.append(outcome)
        if result.stopped:
            break
    result.requests = client.budget.requests - requests_before
    result.points = client.budget.points - points_before
    result.remaining = client.budget.remaining
    result.seconds = time.perf_counter() - started
    return result


def _fatal(exc: CollectionError) -> bool:
    """Errors no other repository would escape (credentials, network)."""
    return isinstance(exc, (CredentialsError, UnreachableError, BadAnswerError))


def _close(
    con: duckdb.DuckDBPyConnection, run: warehouse.CollectionRun, sync: RepositorySync, outcome: RepoOutcome,
    client: GitHubClient, spent: tuple[int, int],
) -> None:
    """Fill ``outcome`` from ``sync``, and the run row with it (its status, error, target, every
    resource's cursor of the repository); its counts JSON holds the rows written
    per table, the PRs and issues that changed, and the requests and GraphQL points this repository cost."""
    outcome.repo_id = sync.repo_id
    outcome.counts = dict(sync.counts.tables)
    outcome.changed_pull_requests = sync.counts.changed_pull_requests
    outcome.changed_issues = sync.counts.changed_issues
    counts = {**outcome.counts, "changed_pull_requests": outcome.changed_pull_requests,
              "changed_issues": outcome.changed_issues, "requests": client.budget.requests - spent[0],
              "points": client.budget.points - spent[1]}
    run.status, run.error, run.target, run.counts = outcome.status, outcome.error, sync.repo_id, counts
    run.cursor = warehouse.cursors(con, store.SOURCE, sync.repo_id)
