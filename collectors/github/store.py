"""Warehouse writes of the GitHub collector: upserts, cursors and run rows.

Every page is written in one transaction together with the cursor that says the page is done,
so a run killed at any point leaves whole pages and a cursor that matches them; the next run
resumes from that cursor. Rows are upserts on the tables' primary keys (``INSERT OR REPLACE``):
reading a page twice changes no row.
"""

from __future__ import annotations

from typing import Any

import duckdb

from impactlens import warehouse
from impactlens.collectors.github.rows import COLUMNS

SOURCE = "github"


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """The DuckDB types of ``table``'s collected columns, from the warehouse itself."""
    found = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall())
    return {c: found[c] for c in COLUMNS[table]}


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> int:
    """``INSERT OR REPLACE`` ``rows`` through one staged table (DuckDB's executemany is ~1,000x slower).

    Returns how many of them were new or differed from the stored row (the rest changed nothing)."""
    if not rows:
        return 0
    columns = ", ".join(COLUMNS[table])
    keys = ", ".join(_KEYS[table])
    values = {c: [row.get(c) for row in rows] for c in COLUMNS[table]}
    with warehouse.staged(con, "_github_page", values, _column_types(con, table)):
        changed = con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM _github_page EXCEPT "
            f"SELECT {columns} FROM {table} SEMI JOIN _github_page USING ({keys}))"
        ).fetchall()[0][0]
        con.execute(f"INSERT OR REPLACE INTO {table} ({columns}) SELECT {columns} FROM _github_page")
    return changed


def save_page(
    con: duckdb.DuckDBPyConnection,
    rows: dict[str, list[dict[str, Any]]],
    *,
    repo_id: str,
    resource: str,
    cursor: dict[str, Any] | None,
) -> dict[str, int]:
    """Upsert ``rows`` (table -> rows) and set the ``sync_state`` cursor of ``resource`` in one
    transaction (``cursor`` None leaves the cursor as it is). Returns, per table, how many rows were
    new or changed."""
    changed: dict[str, int] = {}
    with warehouse.transaction(con):
        for table, table_rows in rows.items():
            changed[table] = _upsert(con, table, _unique(table, table_rows))
        if cursor is not None:
            warehouse.save_cursor(con, SOURCE, repo_id, resource, cursor)
        if any(changed.values()):
            warehouse.mark_derive_pending(con)  # with the rows: a kill before derivation leaves it due
    return changed


def _unique(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last row per primary key (a page can repeat an item GitHub moved while we paged)."""
    key_columns = _KEYS[table]
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        found[tuple(row[c] for c in key_columns)] = row
    return list(found.values())


_KEYS = {
    "pull_requests": ("repo_id", "number"),
    "reviews": ("repo_id", "review_id"),
    "comments": ("repo_id", "comment_id"),
    "pr_timeline_events": ("repo_id", "event_id"),
    "issues": ("repo_id", "number"),
    "milestones": ("repo_id", "number"),
    "releases": ("repo_id", "release_id"),
    "deployments": ("deployment_id",),
    "codeowners": ("repo_id", "path", "valid_from"),
    "login_emails": ("login", "email"),
}


def save_repository(con: duckdb.DuckDBPyConnection, repo: dict[str, Any]) -> None:
    """Upsert the ``repositories`` row from the GraphQL ``Repository`` payload (keeps a clone's
    ``source_path`` that the git collector stored)."""
    con.execute(
        "INSERT INTO repositories (repo_id, name, owner, url, default_branch, is_fork, is_archived, "
        "created_at, last_collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()) "
        "ON CONFLICT (repo_id) DO UPDATE SET name = excluded.name, owner = excluded.owner, "
        "url = excluded.url, default_branch = coalesce(repositories.default_branch, excluded.default_branch), "
        "is_fork = excluded.is_fork, is_archived = excluded.is_archived, created_at = excluded.created_at, "
        "last_collected_at = excluded.last_collected_at",
        [
            repo["nameWithOwner"], repo["name"], (repo.get("owner") or {}).get("login"), repo.get("url"),
            (repo.get("defaultBranchRef") or {}).get("name"), repo.get("isFork"), repo.get("isArchived"),
            repo.get("createdAt"),
        ],
    )
