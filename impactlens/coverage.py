"""Coverage is data: which sources the warehouse holds, per repository, and from when to when.

A source counts as collected for a repository when a succeeded ``collection_runs`` row names it or
its table holds rows for the repository. ``first_at``/``last_at`` are the first and last record
timestamps (UTC); for a source with a succeeded run, ``last_at`` reaches to that run's finish (the
source was observed, quiet or not, up to then).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import duckdb
import polars as pl

#: source -> (table, timestamp column, collection_runs sources that collect it, the command that adds it)
SOURCES: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "git": ("commits", "authored_at", ("git",), "impactlens collect git PATH"),
    "pull_requests": ("pull_requests", "created_at", ("github",), "impactlens collect github {repo}"),
    "reviews": ("reviews", "submitted_at", ("github",), "impactlens collect github {repo}"),
    "issues": ("issues", "created_at", ("github",), "impactlens collect github {repo}"),
    "incidents": ("incidents", "opened_at", ("incidents",), "impactlens collect incidents FILE"),
    "deployments": ("deployments", "created_at", ("git_tags", "github_releases"), "impactlens collect tags PATH"),
}
NOUNS = {"git": "commits", "pull_requests": "pull requests", "reviews": "reviews", "issues": "issues",
         "incidents": "incidents", "deployments": "deployments"}
_SCHEMA = {"repo_id": pl.String, "source": pl.String, "collected": pl.Boolean,
           "first_at": pl.Datetime("us", "UTC"), "last_at": pl.Datetime("us", "UTC")}


def sources(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per repository and source.

    Columns: repo_id (Utf8; null for org-wide incidents), source (Utf8: one of :data:`SOURCES`),
    collected (Boolean), first_at, last_at (Datetime us UTC; null when nothing was collected).
    """
    repos = [r[0] for r in con.sql(
        "SELECT repo_id FROM repositories UNION SELECT DISTINCT repo_id FROM commits "
        "UNION SELECT DISTINCT repo_id FROM pull_requests ORDER BY 1").fetchall()]
    rows = []
    for source, (table, column, run_sources, _) in SOURCES.items():
        marks = ", ".join("?" for _ in run_sources)
        runs = dict(con.execute(
            f"SELECT target, max(finished_at) FROM collection_runs WHERE status = 'succeeded' "
            f"AND source IN ({marks}) GROUP BY 1", list(run_sources)).fetchall())
        if source == "incidents":
            first, last, n = con.sql(f"SELECT min({column}), max({column}), count(*) FROM {table}").fetchall()[0]
            ran = max(runs.values()) if runs else None
            rows.append(_row(None, source, bool(n) or bool(runs), first, last, ran))
            continue
        data = {r[0]: r[1:] for r in con.sql(
            f"SELECT repo_id, min({column}), max({column}) FROM {table} GROUP BY 1").fetchall()}
        for repo in repos:
            first, last = data.get(repo, (None, None))
            rows.append(_row(repo, source, repo in data or repo in runs, first, last, runs.get(repo)))
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def _row(repo, source, collected, first, last, ran):
    utc = [t.astimezone(timezone.utc) if t is not None else None for t in (first, last, ran)]
    first, last, ran = utc
    if ran is not None and (last is None or ran > last):
        last = ran if first is not None else last
    return (repo, source, collected, first, last)


def missing(con: duckdb.DuckDBPyConnection, repo_ids: list[str] | None, sources_: list[str]) -> list[str]:
    """One plain sentence per (repository, source) of ``sources_`` not collected, naming the command that
    adds it, e.g. "No pull requests or reviews for pallets/flask: `impactlens collect github pallets/flask`
    adds them." (``repo_ids`` None: every repository). PRs and reviews, which one command adds, share a
    sentence."""
    cov = sources(con)
    out = []
    for row in cov.filter(~pl.col("collected") & pl.col("source").is_in(sources_)).iter_rows(named=True):
        repo = row["repo_id"]
        if repo is not None and repo_ids is not None and repo not in repo_ids:
            continue
        source = row["source"]
        if source == "issues" and {"pull_requests", "reviews"} & set(sources_) and not cov.filter(
                (pl.col("repo_id") == repo) & pl.col("source").is_in(["pull_requests", "reviews"]))["collected"].any():
            continue  # the same command adds them: one sentence
        cmd = SOURCES[source][3].format(repo=github_target(con, repo) if repo else "OWNER/NAME")
        if source == "git":
            cmd = cmd.replace("PATH", "CLONE")
        elif source == "deployments":
            path = con.execute("SELECT source_path FROM repositories WHERE repo_id = ?", [repo]).fetchall()
            cmd = cmd.replace("PATH", path[0][0] if path and path[0][0] else "CLONE")
        noun = "pull requests or reviews" if source in ("pull_requests", "reviews") else NOUNS[source]
        if source in ("pull_requests", "reviews") and "issues" in sources_:
            noun = "pull requests, reviews or issues"
        where = f" for {repo}" if repo else ""
        sentence = f"No {noun}{where}: `{cmd}` adds them."
        if source in ("pull_requests", "reviews") and "/" not in cmd.split("github ", 1)[-1]:
            sentence += " (Name the repository as OWNER/NAME on its GitHub host.)"
        if sentence not in out:
            out.append(sentence)
    return out


def github_target(con: duckdb.DuckDBPyConnection, repo_id: str) -> str:
    """What to pass to ``impactlens collect github`` for ``repo_id``: the id itself when it is ``owner/name``,
    else ``owner/name`` from the repository's recorded web address, else ``OWNER/NAME``."""
    if "/" in repo_id:
        return repo_id
    rows = con.execute("SELECT url FROM repositories WHERE repo_id = ?", [repo_id]).fetchall()
    url = rows[0][0] if rows and rows[0][0] else ""
    parts = url.rstrip("/").split("/")
    return f"{parts[-2]}/{parts[-1]}" if url.startswith("http") and len(parts) >= 5 else "OWNER/NAME"


def covered(con: duckdb.DuckDBPyConnection, source: str, since: date, until: date,
            repo_ids: list[str] | None = None) -> float:
    """Share (0..1) of the days ``since``..``until`` (both included, UTC) that ``source`` covers in the
    best-covered of ``repo_ids`` (all repositories when None): the overlap with [first_at, last_at]."""
    cov = sources(con).filter((pl.col("source") == source) & pl.col("collected") & pl.col("first_at").is_not_null())
    if repo_ids is not None and source != "incidents":
        cov = cov.filter(pl.col("repo_id").is_in(repo_ids))
    lo = datetime.combine(since, time(0), timezone.utc)
    hi = datetime.combine(until + timedelta(days=1), time(0), timezone.utc)
    span = (hi - lo).total_seconds()
    best = 0.0
    for row in cov.iter_rows(named=True):
        a, b = max(lo, row["first_at"]), min(hi, row["last_at"])
        best = max(best, max(0.0, (b - a).total_seconds()) / span)
    return min(best, 1.0)


def incomplete_before(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], datetime]:
    """``(repo_id, source) -> first_at`` for the dense sources whose stored history is known to start part-way:
    git, when a stored commit has a parent that is not stored (a ``--since`` or shallow collection), and pull
    requests, when the lowest stored PR or issue number is above 1 (GitHub numbers them from 1, so earlier
    ones exist but were not collected). Before ``first_at`` such a source's figures are unknown, not zero;
    a history that begins with the repository's first commit or PR #1 is complete and not listed."""
    out: dict[tuple[str, str], datetime] = {}
    for repo, first in con.sql(
        """
        WITH parents AS (SELECT repo_id, unnest(parent_shas) AS parent FROM commits)
        SELECT c.repo_id, min(c.authored_at) FROM commits c
        WHERE c.repo_id IN (SELECT p.repo_id FROM parents p ANTI JOIN commits k ON k.repo_id = p.repo_id AND k.sha = p.parent)
        GROUP BY 1
        """
    ).fetchall():
        out[(repo, "git")] = first.astimezone(timezone.utc)
    for repo, first in con.sql(
        """
        SELECT repo_id, min(created_at) FROM pull_requests GROUP BY 1
        HAVING least(min(number), coalesce((SELECT min(i.number) FROM issues i WHERE i.repo_id = pull_requests.repo_id), 2147483647)) > 1
        """
    ).fetchall():
        out[(repo, "pull_requests")] = first.astimezone(timezone.utc)
    return out
