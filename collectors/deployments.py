"""Deployments from git tags and from GitHub releases (GitHub deployments are written by the GitHub collector).

* Tags: every tag of a local clone whose name matches one of ``[deployments] tag_patterns``
  (``fnmatch`` globs such as ``v*`` or ``release-[0-9]*``) is a successful production deployment of
  the commit it points to, at the tag's time (the tagger date of an annotated tag, the commit's
  committer date for a lightweight tag). Read with one ``git for-each-ref``.
* Releases: every published, non-draft GitHub release in the ``releases`` table is a deployment at
  its ``published_at``; a pre-release is not a production one (``is_production`` false,
  environment ``prerelease``).

A release and the tag it publishes are one event: both are stored under
``deployment_id = 'tag:<repo_id>:<tag>'``, so collecting tags and releases stores it once (the release
adds its URL and author; the tag gives the exact commit). Loads are upserts: running twice
changes no row. After a load, incident attribution is refreshed
(:func:`impactlens.attribution.attribute`).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import duckdb

from impactlens.errors import CollectionError
from impactlens.config import Config

_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class DeploymentLoad:
    """What one load found: tags (or releases) seen, how many matched and were stored."""

    repo_id: str
    seen: int = 0
    stored: int = 0
    skipped: int = 0

    def summary(self, what: str) -> str:
        """One line for the command line."""
        return (
            f"{self.repo_id}: {self.stored} deployments from {self.seen} {what}"
            + (f" ({self.skipped} skipped)" if self.skipped else "")
            + "."
        )


def _deployment_id(repo_id: str, tag: str) -> str:
    return f"tag:{repo_id}:{tag}"


def read_tags(path: str | Path) -> list[tuple[str, str, dt.datetime]]:
    """Tags of the clone at ``path`` as ``(name, commit sha, time UTC)``; tags of non-commits are left out.

    Raises:
        CollectionError: not a git repository.
    """
    from impactlens.collectors.git import open_repository

    repo = open_repository(path)
    fmt = "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00%(creatordate:unix)"
    result = subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", f"--format={fmt}", "refs/tags"], capture_output=True, check=False
    )
    if result.returncode != 0:
        raise CollectionError(f"git for-each-ref failed in {repo}: {result.stderr.decode(errors='replace').strip()}")
    tags = []
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        name, kind, sha, peeled_kind, peeled, stamp = line.split("\0")
        if kind == "tag":
            if peeled_kind != "commit":
                continue
            sha = peeled
        elif kind != "commit":
            continue
        tags.append((name, sha, dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc)))
    return tags


def collect_tags(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    config: Config,
    *,
    repo_id: str | None = None,
    patterns: list[str] | None = None,
) -> DeploymentLoad:
    """Store the tags of the clone at ``path`` that match the tag patterns as deployments.

    ``patterns`` (default: config ``deployments.tag_patterns``) are ``fnmatch`` globs on the tag
    name. Writes ``deployments`` rows (source 'git_tag', environment 'production', status
    'success', ``created_at`` = ``finished_at`` = tag time UTC), one ``collection_runs`` row, and
    refreshes incident attribution.

    Raises:
        CollectionError: not a git repository, or no tag pattern given or configured.
    """
    from impactlens.collectors.git import stored_repo_id

    patterns = patterns if patterns else config["deployments"]["tag_patterns"]
    if not patterns:
        raise CollectionError(
            "no tag patterns: set [deployments] tag_patterns in impactlens.toml (for example [\"v*\"]) "
            "or pass --pattern."
        )
    tags = read_tags(path)
    repo_id = repo_id or stored_repo_id(con, Path(path))
    result = DeploymentLoad(repo_id, seen=len(tags))
    with _run(con, "git_tags", repo_id) as counts:
        for name, sha, when in tags:
            if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                result.skipped += 1
                continue
            con.execute(
                "INSERT INTO deployments (deployment_id, source, repo_id, environment, is_production, sha, ref, "
                "created_at, finished_at, status) VALUES (?, 'git_tag', ?, 'production', true, ?, ?, ?, ?, 'success') "
                "ON CONFLICT (deployment_id) DO UPDATE SET sha = excluded.sha",
                [_deployment_id(repo_id, name), repo_id, sha, name, when, when],
            )
            result.stored += 1
        counts.update(tags=result.seen, deployments=result.stored)
    return result


def deployments_from_releases(con: duckdb.DuckDBPyConnection, *, repo_id: str | None = None) -> DeploymentLoad:
    """Turn the GitHub releases in ``releases`` (all repos, or ``repo_id``) into deployments.

    Drafts and releases never published are skipped. Writes ``deployments`` rows (source
    'github_release'; ``sha`` from the tag when tags were collected, else ``target_commitish`` when it
    is a full sha) and refreshes incident attribution.
    """
    where = "WHERE repo_id = ?" if repo_id else ""
    rows = con.execute(
        f"SELECT repo_id, tag_name, author_login, is_draft, is_prerelease, published_at, target_commitish, url "
        f"FROM releases {where} ORDER BY repo_id, published_at",
        [repo_id] if repo_id else [],
    ).fetchall()
    result = DeploymentLoad(repo_id or "all repositories", seen=len(rows))
    with _run(con, "github_releases", repo_id or "*") as counts:
        for repo, tag, author, draft, prerelease, published, target, url in rows:
            if draft or published is None:
                result.skipped += 1
                continue
            sha = target if target and _SHA.match(target) else None
            con.execute(
                "INSERT INTO deployments (deployment_id, source, repo_id, environment, is_production, sha, ref, "
                "created_at, finished_at, status, creator_login, url) "
                "VALUES (?, 'github_release', ?, ?, ?, ?, ?, ?, ?, 'success', ?, ?) "
                "ON CONFLICT (deployment_id) DO UPDATE SET source = excluded.source, "
                "environment = excluded.environment, is_production = excluded.is_production, "
                "sha = coalesce(deployments.sha, excluded.sha), created_at = excluded.created_at, "
                "finished_at = excluded.finished_at, creator_login = excluded.creator_login, url = excluded.url",
                [_deployment_id(repo, tag), repo, "prerelease" if prerelease else "production", not prerelease,
                 sha, tag, published, published, author, url],
            )
            result.stored += 1
        counts.update(releases=result.seen, deployments=result.stored)
    return result


@contextmanager
def _run(con: duckdb.DuckDBPyConnection, source: str, target: str) -> Iterator[dict[str, Any]]:
    """One load in one transaction: a ``collection_runs`` row, incident attribution refreshed at the
    end; on failure the transaction is rolled back and the run recorded as failed."""
    from impactlens.attribution import attribute

    run_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO collection_runs (run_id, source, target, started_at, status) VALUES (?, ?, ?, now(), 'running')",
        [run_id, source, target],
    )
    counts: dict[str, Any] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        yield counts
        attribute(con)
        con.execute(
            "UPDATE collection_runs SET status = 'succeeded', finished_at = now(), counts = ? WHERE run_id = ?",
            [json.dumps(counts), run_id],
        )
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        message = str(exc) if isinstance(exc, CollectionError) else f"{type(exc).__name__}: {exc}"
        con.execute(
            "UPDATE collection_runs SET status = 'failed', finished_at = now(), error = ? WHERE run_id = ?",
            [message[:2000], run_id],
        )
        raise
