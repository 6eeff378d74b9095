"""Deployments derived from the GitHub releases already collected (the derive stage, :mod:`impactlens.derive`).

Every published, non-draft GitHub release in the ``releases`` table is a deployment at its ``published_at``; a
pre-release is not a production one (``is_production`` false, environment ``prerelease``). Its id is the tag's
(:func:`impactlens.deployment_store.deployment_id`), so a tag collected as well is one deployment.
"""

from __future__ import annotations

import re

import duckdb

from impactlens.deployment_store import DeploymentLoad, deployment_id, load_run

_SHA = re.compile(r"^[0-9a-f]{40}$")


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
    with load_run(con, "github_releases", repo_id or "*") as counts:
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
                [deployment_id(repo, tag), repo, "prerelease" if prerelease else "production", not prerelease,
                 sha, tag, published, published, author, url],
            )
            result.stored += 1
        counts.update(releases=result.seen, deployments=result.stored)
    return result
