"""Warehouse writes of the GitHub collector: upserts, cursors and run rows.

Every page is written in one transaction together with the cursor that says the page is done,
so a run killed at any point leaves whole pages and a cursor that matches them; the next run
resumes from that cursor. Rows are upserts on the tables' primary keys (``INSERT OR REPLACE``):
reading a page twice changes no row.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from impactlens import warehouse
from impactlens.collectors.github.rows import COLUMNS

SOURCE = "github"


_ARROW_TYPES = {
    "VARCHAR": "string", "INTEGER": "int32", "SMALLINT": "int16", "BIGINT": "int64", "BOOLEAN": "bool",
    "TIMESTAMP WITH TIME ZONE": "timestamp", "VARCHAR[]": "list<string>", "INTEGER[]": "list<int32>",
}


def _arrow_schema(con: duckdb.DuckDBPyConnection, table: str) -> Any:
    """The Arrow schema of ``table``'s collected columns, from the warehouse's own column types."""
    import pyarrow as pa

    found = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall())
    kinds = {
        "string": pa.string(), "int32": pa.int32(), "int16": pa.int16(), "int64": pa.int64(), "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"), "list<string>": pa.list_(pa.string()),
        "list<int32>": pa.list_(pa.int32()),
    }
    return pa.schema([(c, kinds[_ARROW_TYPES[found[c]]]) for c in COLUMNS[table]])


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> int:
    """``INSERT OR REPLACE`` ``rows`` through one Arrow table (DuckDB's executemany is ~1,000x slower).

    Returns how many of them were new or differed from the stored row (the rest changed nothing)."""
    if not rows:
        return 0
    import pyarrow as pa

    columns = ", ".join(COLUMNS[table])
    keys = ", ".join(_KEYS[table])
    batch = pa.Table.from_pylist(rows, schema=_arrow_schema(con, table))
    con.register("_github_page", batch)
    try:
        changed = con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM _github_page EXCEPT "
            f"SELECT {columns} FROM {table} SEMI JOIN _github_page USING ({keys}))"
        ).fetchall()[0][0]
        con.execute(f"INSERT OR REPLACE INTO {table} ({columns}) SELECT {columns} FROM _github_page")
    finally:
        con.unregister("_github_page")
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
            con.execute(
                "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, now())",
                [SOURCE, repo_id, resource, json.dumps(cursor, sort_keys=True)],
            )
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


def cursors(con: duckdb.DuckDBPyConnection, repo_id: str) -> dict[str, dict[str, Any]]:
    """The stored cursors of ``repo_id``, by resource (JSON decoded)."""
    rows = con.execute(
        "SELECT resource, cursor FROM sync_state WHERE source = ? AND target = ?", [SOURCE, repo_id]
    ).fetchall()
    return {resource: json.loads(cursor) for resource, cursor in rows}


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


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, repo_id: str) -> None:
    """Record a ``running`` run; a ``running`` row left by a killed process becomes ``interrupted``."""
    con.execute(
        "UPDATE collection_runs SET status = 'interrupted' WHERE source = ? AND target = ? AND status = 'running'",
        [SOURCE, repo_id],
    )
    con.execute(
        "INSERT INTO collection_runs (run_id, source, target, started_at, status) VALUES (?, ?, ?, now(), 'running')",
        [run_id, SOURCE, repo_id],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, *, status: str, counts: dict[str, Any], error: str | None = None,
    repo_id: str | None = None,
) -> None:
    """Close the run row: ``status`` ``succeeded``, ``failed`` or ``stopped`` (rate limit), with the
    counts and, for a run that did not succeed, its one-line error. The cursor column holds every
    resource's cursor of ``repo_id`` as JSON."""
    cursor = json.dumps(cursors(con, repo_id), sort_keys=True) if repo_id else None
    con.execute(
        "UPDATE collection_runs SET status = ?, finished_at = now(), counts = ?, error = ?, cursor = ?, "
        "target = coalesce(?, target) WHERE run_id = ?",
        [status, json.dumps(counts, sort_keys=True), error, cursor, repo_id, run_id],
    )
