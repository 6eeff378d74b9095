"""Reads of warehouse tables that the metrics API does not cover yet (metrics/ may take them over).

Each function runs one read-only SQL query and returns a Polars DataFrame (timestamps
``Datetime(us, UTC)``). Nothing here computes a metric; claims.py does that.
"""

from __future__ import annotations

import difflib

import duckdb
import polars as pl

from impactlens.errors import ImpactlensError
from impactlens.identity import identity_id, identity_sql
from impactlens.people import is_junk_key


class EvidenceError(ImpactlensError):
    """The evidence cannot be built as asked (unknown person or team, bad period, bad file)."""


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pl.DataFrame:
    out = con.sql(query, params=params or None).pl()
    assert isinstance(out, pl.DataFrame)
    return out


def resolve_person(con: duckdb.DuckDBPyConnection, who: str) -> tuple[str, str]:
    """The ``(person_id, display_name)`` of ``who``: a person id, an identity id (``email:x``), a GitHub
    login, an email or a display name (case-insensitive). An identity not linked to a person yet is its
    own actor: its identity id and display name are returned.

    Raises:
        EvidenceError: nobody matches (the message names up to five close matches and ``people list``),
            a display name matches several actors (the message lists their ids), ``who`` is a bot, or an identity
            linked to nobody that names nobody (:func:`impactlens.people.is_junk_key`: "=", "unknown", no email).
    """
    key = who.strip().lower()
    if not key:
        raise EvidenceError("no person given: pass an id, a login, an email or a display name (`impactlens people list`).")
    actors = con.execute(
        """
        SELECT DISTINCT coalesce(i.person_id, i.identity_id) AS actor FROM identities i
        WHERE i.identity_id IN (?, ?, ?)
        UNION SELECT person_id FROM people WHERE lower(person_id) = ?
        """,
        [key, identity_id("github_login", key), identity_id("email", key), key],
    ).fetchall()
    if not actors:
        actors = con.execute(
            """
            SELECT person_id FROM people WHERE lower(trim(display_name)) = ?
            UNION SELECT coalesce(person_id, identity_id) FROM identities WHERE lower(trim(display_name)) = ?
            ORDER BY 1
            """,
            [key, key],
        ).fetchall()
    if not actors:  # a commit author whose identity is not recorded yet (no derive step ran): its own actor
        email = identity_sql("author_email", kind="email")
        actors = con.execute(f"SELECT DISTINCT {email} FROM commits WHERE {email} IN (?, ?)",
                             [key, identity_id("email", key)]).fetchall()
    if not actors:
        raise EvidenceError(f"no person, login, email or name '{who}' in the warehouse{_close_matches(con, key)}")
    if len(actors) > 1:
        ids = ", ".join(a for (a,) in actors[:8])
        raise EvidenceError(f"'{who}' names {len(actors)} people or identities: {ids}; pass one of these ids "
                            "(`impactlens people merge A B` records that two are one person).")
    actor = actors[0][0]
    bot = con.execute(
        "SELECT bool_or(is_bot) FROM (SELECT is_bot FROM people WHERE person_id = ? "
        "UNION ALL SELECT is_bot FROM identities WHERE identity_id = ?)", [actor, actor]).fetchall()[0][0]
    if bot:
        raise EvidenceError(f"'{who}' is a bot ({actor}): evidence packets are for people.")
    name = person_profile(con, actor)["display_name"]
    in_roster = con.execute("SELECT count(*) FROM people WHERE person_id = ?", [actor]).fetchall()[0][0]
    if not in_roster and is_junk_key(actor, name):
        raise EvidenceError(f"'{who}' is a junk identity ({actor}: no name or address of a person); its work is "
                            f"someone's: `impactlens people merge {actor} PERSON --reason ...` gives it to them.")
    return actor, name


def _close_matches(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """``"; close matches: David Lord (email:davidism@gmail.com), ..."`` (up to five, humans only), or a
    pointer to ``people list`` when nothing is close."""
    rows = con.sql(
        """
        SELECT person_id AS actor, display_name FROM people WHERE NOT is_bot
        UNION SELECT coalesce(person_id, identity_id), coalesce(display_name, value) FROM identities WHERE NOT is_bot
        UNION SELECT coalesce(person_id, identity_id), value FROM identities WHERE NOT is_bot
        """
    ).fetchall()
    by_text: dict[str, set[str]] = {}
    shown: dict[str, str] = {}
    for actor, text in rows:
        if text:
            by_text.setdefault(text.lower(), set()).add(actor)
            shown.setdefault(text.lower(), text)
    found: list[str] = []
    seen: set[str] = set()
    for text in difflib.get_close_matches(key, list(by_text), n=10, cutoff=0.6):
        for actor in sorted(by_text[text] - seen):
            seen.add(actor)
            found.append(actor if text == actor.lower() else f"{shown[text]} ({actor})")
    hint = "`impactlens people list --search TEXT` lists people and their ids"
    return f"; close matches: {', '.join(found[:5])} ({hint})." if found else f" ({hint})."


def person_profile(con: duckdb.DuckDBPyConnection, person_id: str) -> dict:
    """Roster facts of a person: display_name, level, title, start_date (None when unknown)."""
    rows = con.execute(
        "SELECT display_name, level, title, start_date FROM people WHERE person_id = ?", [person_id]
    ).fetchall()
    if not rows:  # an identity not linked to a person: its own display name (else its value)
        ident = con.execute("SELECT coalesce(display_name, value) FROM identities WHERE identity_id = ?",
                            [person_id]).fetchall()
        if not ident:  # not recorded as an identity yet: the name on its latest commit
            ident = con.execute(f"SELECT author_name FROM commits WHERE {identity_sql('author_email', kind='email')} = ? "
                                "ORDER BY authored_at DESC LIMIT 1", [person_id]).fetchall()
        name = ident[0][0] if ident and ident[0][0] else person_id
        return {"display_name": name, "level": None, "title": None, "start_date": None}
    name, level, title, start = rows[0]
    return {"display_name": name, "level": level, "title": title, "start_date": start}


def person_identities(con: duckdb.DuckDBPyConnection, person_id: str) -> list[str]:
    """Identity ids (``github_login:x``, ``email:y``) that belong to ``person_id`` (for CODEOWNERS lines)."""
    rows = con.execute(
        "SELECT identity_id FROM identities WHERE person_id = ? OR identity_id = ? ORDER BY 1",
        [person_id, person_id],
    ).fetchall()
    return [r[0] for r in rows]


def team_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """team_id -> team name."""
    return dict(con.sql("SELECT team_id, name FROM teams").fetchall())


def repo_urls(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """repo_id -> web address of the repository (http or https only: a local path is never a link).

    A repository with no recorded address and an ``owner/name`` id (PRs collected from GitHub) gets
    ``https://github.com/owner/name``; one collected from a local-path remote without ``--web-url`` has none.
    """
    rows = con.sql("SELECT repo_id, url, source_path FROM repositories").fetchall()
    urls = {r: u.rstrip("/") for r, u, _ in rows if u and u.lower().startswith(("https://", "http://"))}
    local = {r for r, u, path in rows if r not in urls and (path or u)}
    for (repo_id,) in con.sql(
        "SELECT DISTINCT repo_id FROM pull_requests UNION SELECT DISTINCT repo_id FROM commits"
    ).fetchall():
        if repo_id not in urls and repo_id not in local and "/" in repo_id:
            urls[repo_id] = f"https://github.com/{repo_id}"
    return urls


def pr_projects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The projects PRs belong to: their milestone, and each issue they link (``linked_issues``).

    Columns: repo_id, number (i32, the PR), project_kind ('milestone' | 'issue'), project_number (i32),
    project_title, project_url (str, null when the milestone or issue is not in the warehouse),
    project_exists (bool: a row of milestones / issues backs it).
    """
    return _frame(
        con,
        """
        SELECT p.repo_id, p.number, 'milestone' AS project_kind, p.milestone_number AS project_number,
               m.title AS project_title, m.url AS project_url, m.number IS NOT NULL AS project_exists
        FROM pull_requests p LEFT JOIN milestones m ON m.repo_id = p.repo_id AND m.number = p.milestone_number
        WHERE p.milestone_number IS NOT NULL
        UNION ALL
        SELECT l.repo_id, l.number, 'issue', l.issue, i.title, i.url, i.number IS NOT NULL
        FROM (SELECT repo_id, number, unnest(linked_issues) AS issue FROM pull_requests
              WHERE len(coalesce(linked_issues, [])) > 0) l
        LEFT JOIN issues i ON i.repo_id = l.repo_id AND i.number = l.issue
        """,
    )


def codeowners_files(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every recorded CODEOWNERS version: repo_id, path, valid_from (Datetime UTC), commit_sha, content."""
    return _frame(con, "SELECT repo_id, path, valid_from, commit_sha, content FROM codeowners ORDER BY repo_id, valid_from")


def deployment_urls(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """deployment_id, url of every deployment."""
    return _frame(con, "SELECT deployment_id, url FROM deployments")


def commits(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every commit with its author resolved as the data contract says (docs/schema.md): the person key
    is ``coalesce(actors.actor_id, identity_id)`` (the identity key: :mod:`impactlens.identity`).

    Columns: repo_id, sha, author_key (str), authored_at (Datetime UTC), is_merge (bool), pr_number (i32),
    subject (str). Bots are not flagged here: callers look up a known person's commits or commits by sha.
    """
    email = identity_sql("c.author_email", kind="email")
    return _frame(
        con,
        f"""
        SELECT c.repo_id, c.sha,
               CASE WHEN c.author_email IS NOT NULL
                    THEN coalesce(a.actor_id, {email}) END AS author_key,
               c.authored_at, c.is_merge, c.pr_number, c.subject
        FROM commits c LEFT JOIN actors a ON a.identity_id = {email}
        """,
    )


def commit_file_lines(con: duckdb.DuckDBPyConnection, excluded: tuple[str, ...]) -> pl.DataFrame:
    """Changed lines per commit file: repo_id, sha, path, lines (i64: additions + deletions), leaving out
    files whose category is in ``excluded`` (generated, lockfile, vendored)."""
    marks = ", ".join("?" for _ in excluded) or "NULL"
    return _frame(
        con,
        "SELECT repo_id, sha, path, (coalesce(additions, 0) + coalesce(deletions, 0))::BIGINT AS lines "
        f"FROM commit_files WHERE category NOT IN ({marks})",
        list(excluded),
    )


def review_urls(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """repo_id, review_id, url of every review (links of review records)."""
    return _frame(con, "SELECT repo_id, review_id, url FROM reviews")
