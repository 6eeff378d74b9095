"""Reading the people area: people, unresolved identities, possible duplicates, teams at a time, junk identities.

What :mod:`impactlens.people` resolves (docs/identities.md), read back; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

from impactlens.identity import identity_id, identity_sql, split_key
from impactlens.membership import member_on_sql

if TYPE_CHECKING:
    import polars as pl  # frames come from DuckDB (.pl()): a collection's people refresh imports no frame library


# Every place an identity acts: (identity kind expression, value, display name, source, time).
# A committer is counted only when not the commit's author (one commit, one row for its author).
# ``person_value`` classifies free text (incident commanders): '@login', an email, or a name.
ACTIVITY_SQL = f"""
WITH raw(kind, value, display_name, source, seen_at) AS (
    SELECT 'email', author_email, author_name, 'git', authored_at FROM commits
    UNION ALL SELECT 'email', author_email_raw, author_name_raw, 'git', authored_at FROM commits
        WHERE lower(author_email_raw) <> lower(author_email)
    UNION ALL SELECT 'email', committer_email, committer_name, 'git', committed_at FROM commits
        WHERE lower(committer_email) <> lower(author_email)
    UNION ALL SELECT 'email', committer_email_raw, committer_name_raw, 'git', committed_at FROM commits
        WHERE lower(committer_email_raw) <> lower(committer_email)
          AND lower(committer_email_raw) <> lower(author_email_raw)
    UNION ALL SELECT 'email', ca.email, ca.name, 'git', c.authored_at
        FROM commit_coauthors ca JOIN commits c USING (repo_id, sha)
    UNION ALL SELECT 'github_login', author_login, NULL, 'github', created_at FROM pull_requests
    UNION ALL SELECT 'github_login', merged_by_login, NULL, 'github', merged_at FROM pull_requests
    UNION ALL SELECT 'github_login', reviewer_login, NULL, 'github', submitted_at FROM reviews
    UNION ALL SELECT 'github_login', author_login, NULL, 'github', created_at FROM comments
    UNION ALL SELECT 'github_login', author_login, NULL, 'github', created_at FROM issues
    UNION ALL SELECT 'github_login', unnest(assignees), NULL, 'github', created_at FROM issues
    UNION ALL SELECT 'github_login', actor_login, NULL, 'github', created_at FROM pr_timeline_events
    UNION ALL SELECT 'github_login', author_login, NULL, 'github', coalesce(published_at, created_at) FROM releases
    UNION ALL SELECT 'github_login', creator_login, NULL, 'github', created_at FROM deployments
    UNION ALL SELECT 'incident', commander, NULL, 'incidents', opened_at FROM incidents
    UNION ALL SELECT 'incident', unnest(responders), NULL, 'incidents', opened_at FROM incidents
),
cleaned AS (
    SELECT CASE WHEN kind <> 'incident' THEN kind
                WHEN trim(value) LIKE '@%' THEN 'github_login'
                WHEN trim(value) LIKE '%@%' THEN 'email'
                ELSE 'name' END AS kind,
           CASE WHEN kind = 'incident' AND trim(value) LIKE '@%' THEN ltrim(trim(value), '@')
                ELSE trim(value) END AS value,
           display_name, source, seen_at
    FROM raw WHERE value IS NOT NULL AND trim(value) <> ''
)
SELECT {identity_sql("value", kind_sql="kind")} AS identity_id, kind, lower(value) AS value,
       display_name, source, seen_at
FROM cleaned
"""


# ---------------------------------------------------------------------------------------------
# Reading: people, unresolved identities, teams at a time


def list_people(con: duckdb.DuckDBPyConnection, *, at: dt.date | None = None, include_bots: bool = False) -> pl.DataFrame:
    """People with their identities and team(s) on ``at`` (default today, UTC).

    Returns columns: person_id (str), display_name (str), source ('roster'|'auto'), title, level,
    teams (str, comma-separated team ids on ``at``), identities (int), is_bot (bool), bot_kind.
    Ordered by display name.
    """
    at = at or dt.datetime.now(dt.timezone.utc).date()
    return con.sql(
        f"""
        SELECT p.person_id, p.display_name, p.source, p.title, p.level,
               (SELECT string_agg(team_id, ', ' ORDER BY team_id) FROM team_memberships m
                WHERE m.person_id = p.person_id AND {member_on_sql(f"DATE '{at.isoformat()}'")}) AS teams,
               (SELECT count(*) FROM identities i WHERE i.person_id = p.person_id) AS identities,
               p.is_bot, p.bot_kind
        FROM people p {'' if include_bots else 'WHERE NOT p.is_bot'}
        ORDER BY lower(p.display_name), p.person_id
        """
    ).pl()


def unresolved(con: duckdb.DuckDBPyConnection, *, limit: int | None = None, include_bots: bool = False) -> pl.DataFrame:
    """Identities with no person, busiest first.

    Returns columns: identity_id, kind, value, display_name, activity (int: rows naming it across
    the activity tables), first_seen_at, last_seen_at (TIMESTAMPTZ UTC), is_bot, and
    maybe_person (str|null): the one person whose name equals the identity's display name (for a
    ``name:`` identity, its value), a suggestion to check before merging, never applied by itself.
    """
    bots_filter = "" if include_bots else "AND NOT i.is_bot"
    limit_sql = f"LIMIT {int(limit)}" if limit else ""
    return con.sql(
        f"""
        WITH act AS (SELECT identity_id, count(*) AS activity FROM ({ACTIVITY_SQL}) GROUP BY 1),
        names AS (SELECT lower(display_name) AS name, min(person_id) AS person_id FROM people
                  WHERE NOT is_bot GROUP BY 1 HAVING count(*) = 1)
        SELECT i.identity_id, i.kind, i.value, i.display_name, coalesce(a.activity, 0) AS activity,
               i.first_seen_at, i.last_seen_at, i.is_bot, n.person_id AS maybe_person
        FROM identities i LEFT JOIN act a USING (identity_id)
        LEFT JOIN names n ON n.name = lower(CASE WHEN i.kind = 'name' THEN i.value ELSE i.display_name END)
        WHERE i.person_id IS NULL {bots_filter}
        ORDER BY activity DESC, i.identity_id {limit_sql}
        """
    ).pl()


def suggestions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Groups of actors (people, or identities with no person) that share a full display name: without a
    roster one person is often several actors (a work and a personal email, a login), so a directory's
    "2 contributors" can be one person. A suggestion to check, never applied: two people can share a name.

    Only names of at least two words with letters count (a lone "max" names many people). ``evidence`` is
    'name and email user' when two of the actors' emails have the same part before the @ (``me@kr.com``,
    ``me@kr.org``), else 'name'.

    Columns: name (str), actors (list[str], busiest first), activity (list[i64], rows naming each),
    evidence (str); strongest evidence first, then busiest.
    """
    return suggestion_rows(con).pl()


def suggestion_rows(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The relation :func:`suggestions` reads (``refresh`` counts it without a frame library)."""
    return con.sql(
        f"""
        WITH act AS (SELECT identity_id, count(*) AS activity FROM ({ACTIVITY_SQL}) GROUP BY 1),
        ids AS (
            SELECT coalesce(i.person_id, i.identity_id) AS actor, lower(trim(i.display_name)) AS name,
                   trim(i.display_name) AS shown, coalesce(a.activity, 0) AS activity,
                   CASE WHEN i.kind = 'email' THEN split_part(i.value, '@', 1) END AS local
            FROM identities i LEFT JOIN act a USING (identity_id)
            WHERE NOT i.is_bot AND i.display_name IS NOT NULL
              AND regexp_matches(trim(i.display_name), '^\\S*[[:alpha:]]\\S*\\s+\\S*[[:alpha:]]')
        ),
        per_actor AS (SELECT name, actor, min(shown) AS shown, sum(activity) AS activity, list(local) AS locals
                      FROM ids GROUP BY 1, 2),
        grouped AS (
            SELECT name, min(shown) AS shown, list(actor ORDER BY activity DESC, actor) AS actors,
                   list(activity::BIGINT ORDER BY activity DESC, actor) AS activity, flatten(list(locals)) AS locals,
                   sum(activity) AS total
            FROM per_actor GROUP BY 1 HAVING count(*) > 1
        )
        SELECT shown AS name, actors, activity,
               CASE WHEN len(list_filter(locals, lambda x: x IS NOT NULL)) > len(list_distinct(list_filter(locals, lambda x: x IS NOT NULL)))
                    THEN 'name and email user' ELSE 'name' END AS evidence
        FROM grouped ORDER BY evidence = 'name', total DESC, name
        """
    )


def actor_of(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> str:
    """The actor key metrics count for an identity: its person id, else its identity id."""
    ident = identity_id(kind, value)
    row = con.execute("SELECT person_id FROM identities WHERE identity_id = ?", [ident]).fetchall()
    return (row[0][0] if row and row[0][0] else ident)


def service_owners(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The services each team owns, from the roster: columns team_id (str), service (str).

    Join ``lower(incidents.service) = lower(service)`` for "incidents and MTTR of the services a
    team owns"; a service owned by two teams counts for both (and once in an organisation total).
    """
    return con.sql("SELECT team_id, service FROM team_services ORDER BY team_id, service").pl()


def teams_at(con: duckdb.DuckDBPyConnection, at: dt.date | dt.datetime) -> pl.DataFrame:
    """Who was in which team on ``at`` (a date, or a datetime taken in UTC).

    Returns columns: person_id (str), team_id (str), role (str|null). A person in two teams at once
    has two rows; an organisation total must count distinct person_id, never sum the teams.
    """
    day = at.astimezone(dt.timezone.utc).date() if isinstance(at, dt.datetime) and at.tzinfo else (
        at.date() if isinstance(at, dt.datetime) else at
    )
    return con.sql(
        f"SELECT person_id, team_id, role FROM team_memberships m WHERE {member_on_sql('$day')} "
        "ORDER BY person_id, team_id",
        params={"day": day},
    ).pl()


def attach_teams(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    *,
    actor_col: str = "actor_id",
    time_col: str,
    keep_unassigned: bool = True,
) -> pl.DataFrame:
    """Add ``team_id`` to each row of ``frame``: the team(s) its actor was in at the row's time.

    Args:
        frame: any frame with ``actor_col`` (a person id or identity id, as in view ``actors``)
            and ``time_col`` (Datetime with time zone, or Date). Times are taken in UTC.
        keep_unassigned: keep rows whose actor was in no team then (``team_id`` null).

    Returns:
        ``frame``'s columns plus ``team_id`` (str). A row whose actor was in two teams at that time
        appears once per team (so team figures are right); organisation totals must deduplicate
        (count distinct events or actors), never add team figures up.

    Membership periods are ``valid_from <= date(t) < valid_to`` (valid_to exclusive, NULL ongoing).
    """
    con.register("_frame", frame.with_row_index("_row"))
    join = "LEFT JOIN" if keep_unassigned else "JOIN"
    try:
        out = con.sql(
            f"""
            SELECT f.*, m.team_id FROM _frame f {join} team_memberships m
              ON m.person_id = f."{actor_col}" AND {member_on_sql(f'CAST(f."{time_col}" AS DATE)')}
            ORDER BY f._row, m.team_id
            """
        ).pl()
    finally:
        con.unregister("_frame")
    return out.drop("_row")



# ---------------------------------------------------------------------------------------------
# Junk identities: kept and counted, but flagged and never a default


#: Names, logins and email parts that name nobody ("unknown <none@none>", "=").
JUNK_WORDS = frozenset({"", "unknown", "none", "(none)", "null", "nil", "n/a", "na", "anonymous", "nobody"})


def _junk_text(text: str) -> bool:
    value = text.strip().lower()
    return value in JUNK_WORDS or not any(ch.isalpha() for ch in value)


def _junk_email(email: str) -> bool:
    value = email.strip().lower()
    if "@" not in value or _junk_text(value):
        return True
    local, domain = value.rsplit("@", 1)
    return local.strip("<>") in JUNK_WORDS or domain.strip("<>") in JUNK_WORDS


def is_junk_identity(name: str | None = None, email: str | None = None, login: str | None = None) -> bool:
    """True when any given part names nobody: a display name or login with no letter or one of
    :data:`JUNK_WORDS` ("=", "unknown", "none"), or an email that is empty, has no ``@`` or no letter, or
    whose local part or domain is such a word ("none@none"). Parts passed as None are not judged.

    Junk identities stay in the warehouse and in every count of activity; the dashboard never picks one
    as its default person and ``people list`` marks them (docs/identities.md).
    """
    return ((name is not None and _junk_text(name)) or (login is not None and _junk_text(login))
            or (email is not None and _junk_email(email)))


def is_junk_key(person_key: str, display_name: str | None = None) -> bool:
    """:func:`is_junk_identity` of an actor key (a person id, or an unresolved ``email:``/``github_login:``/
    ``name:`` identity id) with its display name."""
    kind, value = split_key(person_key) or ("person", person_key)
    return is_junk_identity(
        name=display_name if display_name is not None else (value if kind == "name" else None),
        email=value if kind == "email" else None,
        login=value if kind == "github_login" else None,
    )


def person_activity(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Authored work per actor, for finding the id one needs (``people list``).

    An actor is a person id, or the identity id of an identity linked to nobody (the data contract).
    Returns columns: person_id (str: the actor key), commits (i64: non-merge commits whose author email is
    the actor's), prs (i64: pull requests whose author login is the actor's), last_active (DATE UTC of the
    latest of those). Actors with no authored work have no row.
    """
    email, login = identity_sql("c.author_email", kind="email"), identity_sql("p.author_login", kind="github_login")
    return con.sql(
        f"""
        WITH work AS (
            SELECT coalesce(i.person_id, {email}) AS actor, 'commit' AS kind,
                   c.authored_at AS ts
            FROM commits c LEFT JOIN identities i ON i.identity_id = {email}
            WHERE NOT c.is_merge AND c.author_email IS NOT NULL
            UNION ALL
            SELECT coalesce(i.person_id, {login}), 'pr', p.created_at
            FROM pull_requests p LEFT JOIN identities i ON i.identity_id = {login}
            WHERE p.author_login IS NOT NULL
        )
        SELECT actor AS person_id, count(*) FILTER (WHERE kind = 'commit') AS commits,
               count(*) FILTER (WHERE kind = 'pr') AS prs, timezone('UTC', max(ts))::DATE AS last_active
        FROM work GROUP BY 1
        """
    ).pl()
