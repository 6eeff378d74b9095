"""CODEOWNERS collection from git: every version of the file GitHub reads, from a clone's history.

The versions go to the ``codeowners`` table (docs/schema.md); :mod:`impactlens.codeowners` reads them back
(which file applies when, who owns a path).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import duckdb

from impactlens import warehouse
from impactlens.codeowners import LOCATIONS
from impactlens.errors import CollectionError

SOURCE = "git"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


def collect_codeowners(con: duckdb.DuckDBPyConnection, path: str | Path, *, repo_id: str | None = None,
                       branch: str | None = None) -> int:
    """Read every version of the CODEOWNERS files from the git history of the clone at ``path``.

    For each commit on ``branch`` (default HEAD) that changed one of :data:`LOCATIONS`, stores a row
    in ``codeowners`` (repo_id, path, valid_from = committer time UTC, commit_sha, source 'git',
    content; empty content when the commit deleted the file). Upserts on the primary key, so a
    second run stores nothing new. Records a ``collection_runs`` row.

    Returns:
        The number of versions found.

    Raises:
        CollectionError: not a git repository, or an unknown branch.
    """
    from impactlens.collectors.git import open_repository, stored_repo_id

    repo = open_repository(path)
    repo_id = repo_id or stored_repo_id(con, repo)
    ref = branch or "HEAD"
    listed = _git(repo, "log", "--format=%H %ct", "--name-status", "--no-renames", ref, "--", *LOCATIONS)
    if listed.returncode != 0:
        raise CollectionError(f"git log failed in {repo}: {listed.stderr.decode(errors='replace').strip()}")
    rows = []
    sha, when = "", None
    for line in listed.stdout.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        if "\t" not in line:
            sha, stamp = line.split()
            when = dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc)
            continue
        status, file = line.split("\t", 1)
        if file not in LOCATIONS:
            continue
        content = ""
        if status != "D":
            shown = _git(repo, "show", f"{sha}:{file}")
            content = shown.stdout.decode("utf-8", "replace")
        rows.append((repo_id, file, when, sha, SOURCE, content))
    with warehouse.collection_run(con, "codeowners", repo_id, transaction=True) as run:
        for row in rows:
            con.execute(
                "INSERT INTO codeowners VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repo_id, path, valid_from) "
                "DO UPDATE SET commit_sha = excluded.commit_sha, content = excluded.content",
                list(row),
            )
        run.counts = {"versions": len(rows)}
    return len(rows)
