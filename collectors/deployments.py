"""Deployments from git tags (GitHub deployments are written by the GitHub collector; deployments from GitHub
releases are derived after collection: :mod:`impactlens.derive.releases`).

* Tags: every tag of a local clone whose name matches one of ``[deployments] tag_patterns``
  (``fnmatch`` globs such as ``v*`` or ``release-[0-9]*``) is a successful production deployment of
  the commit it points to, at the tag's time (the tagger date of an annotated tag, the commit's
  committer date for a lightweight tag). Read with one ``git for-each-ref``.

A release and the tag it publishes are one event: both are stored under
``deployment_id = 'tag:<repo_id>:<tag>'``, so collecting tags and releases stores it once (the release
adds its URL and author; the tag gives the exact commit). Loads are upserts: running twice
changes no row. After a load, incident attribution is refreshed
(:func:`impactlens.attribution.attribute`; :func:`impactlens.deployment_store.load_run`).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import subprocess
from pathlib import Path

import duckdb

from impactlens.errors import CollectionError
from impactlens.config import Config
from impactlens.deployment_store import DeploymentLoad, deployment_id, load_run


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
    with load_run(con, "git_tags", repo_id) as counts:
        for name, sha, when in tags:
            if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                result.skipped += 1
                continue
            con.execute(
                "INSERT INTO deployments (deployment_id, source, repo_id, environment, is_production, sha, ref, "
                "created_at, finished_at, status) VALUES (?, 'git_tag', ?, 'production', true, ?, ?, ?, ?, 'success') "
                "ON CONFLICT (deployment_id) DO UPDATE SET sha = excluded.sha",
                [deployment_id(repo_id, name), repo_id, sha, name, when, when],
            )
            result.stored += 1
        counts.update(tags=result.seen, deployments=result.stored)
    return result
