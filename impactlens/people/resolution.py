"""Identity resolution: :func:`refresh` recomputes identities, people and bot flags from the evidence, the
roster and the merges not undone; :func:`merge` / :func:`unmerge` record a person's decision and refresh.
The rules: :mod:`impactlens.people` and docs/identities.md.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb

from impactlens import bots, warehouse
from impactlens.errors import ImpactlensError
from impactlens.identity import identity_id, identity_sql, split_key
from impactlens.config import Config
from impactlens.people.queries import ACTIVITY_SQL, suggestion_rows

# 12345+login@users.noreply.github.com (since 2017) and login@users.noreply.github.com (older).
_NOREPLY = re.compile(r"^(?:\d+\+)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\[bot\])?)@users\.noreply\.github\.com$")


@dataclass
class Resolution:
    """What :func:`refresh` found: counts, plus one line per conflict it could not settle."""

    identities: int = 0
    resolved: int = 0
    people: int = 0
    auto_people: int = 0
    bots: int = 0
    conflicts: list[str] = field(default_factory=list)
    #: Display names shared by several people or unlinked identities (:func:`suggestions`): maybe one person.
    shared_names: int = 0

    def summary(self) -> str:
        """Human lines for the command line."""
        lines = [
            f"{self.identities} identities, {self.resolved} linked to {self.people} people "
            f"({self.auto_people} found automatically), {self.bots} bots."
        ]
        if self.shared_names:
            lines.append(f"{self.shared_names} full names are shared by several identities, which may be one person "
                         "each: `impactlens people suggest` lists them to check and merge.")
        lines += [f"conflict: {c}" for c in self.conflicts]
        return "\n".join(lines)


class _Groups:
    """Union-find over identity ids, remembering why each identity was linked."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.reasons: dict[str, set[str]] = defaultdict(set)

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str, reason: str) -> None:
        if a == b:
            return
        self.reasons[a].add(reason)
        self.reasons[b].add(reason)
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for x in list(self.parent):
            groups[self.find(x)].append(x)
        return groups


def _collect_identities(con: duckdb.DuckDBPyConnection) -> None:
    """Upsert every identity the activity tables name (kind, value, name, first/last seen)."""
    con.execute(
        f"""
        INSERT INTO identities (identity_id, kind, value, display_name, source, first_seen_at, last_seen_at)
        SELECT identity_id, any_value(kind), any_value(value),
               arg_max(display_name, seen_at) FILTER (WHERE display_name IS NOT NULL AND display_name <> ''),
               coalesce(arg_min(source, seen_at), min(source)), min(seen_at), max(seen_at)
        FROM ({ACTIVITY_SQL}) GROUP BY identity_id
        ON CONFLICT (identity_id) DO UPDATE SET
            display_name = coalesce(excluded.display_name, identities.display_name),
            first_seen_at = excluded.first_seen_at,
            last_seen_at = excluded.last_seen_at
        """
    )


def _rows_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> contextlib.AbstractContextManager[int]:
    """All-VARCHAR ``rows`` as the temporary table ``name`` for a ``with`` block, for bulk writes (one
    statement instead of one per row)."""
    return warehouse.staged(con, name, {c: [r[i] for r in rows] for i, c in enumerate(columns)})


def _add_identities(con: duckdb.DuckDBPyConnection, new: dict[str, str]) -> None:
    """Insert the identities in ``new`` (identity id -> source) that the table does not hold yet."""
    if not new:
        return
    with _rows_table(con, "_new_identities", ("identity_id", "source"), list(new.items())):
        con.execute(
            "INSERT INTO identities (identity_id, kind, value, source) "
            "SELECT identity_id, split_part(identity_id, ':', 1), substr(identity_id, strpos(identity_id, ':') + 1), "
            "source FROM _new_identities ON CONFLICT (identity_id) DO NOTHING"
        )


def _evidence(con: duckdb.DuckDBPyConnection, groups: _Groups, new: dict[str, str]) -> None:
    """Add the mailmap, no-reply and login-email edges to ``groups`` (identities they name that
    were never seen in activity go to ``new``)."""
    for side in ("author", "committer"):
        rows = con.execute(
            f"SELECT DISTINCT {identity_sql(f'{side}_email_raw', kind='email')}, "
            f"{identity_sql(f'{side}_email', kind='email')} FROM commits "
            f"WHERE lower({side}_email_raw) <> lower({side}_email) AND {side}_email <> ''"
        ).fetchall()
        for raw, mapped in rows:
            groups.union(raw, mapped, "mailmap")
    emails = con.execute(
        "SELECT identity_id, value FROM identities WHERE kind = 'email' AND value LIKE '%@users.noreply.github.com'"
    ).fetchall()
    for ident, value in emails:
        match = _NOREPLY.match(value)
        if match:
            login = identity_id("github_login", match[1])
            new.setdefault(login, "noreply")
            groups.union(ident, login, "noreply")
    for login, email in con.execute("SELECT DISTINCT lower(login), lower(email) FROM login_emails").fetchall():
        a, b = identity_id("github_login", login), identity_id("email", email)
        new.setdefault(a, "login_email")
        new.setdefault(b, "login_email")
        groups.union(a, b, "login_email")
    # A PR's merge or squash commit that GitHub wrote (committer noreply@github.com) is authored
    # with the email of the person who pressed Merge: for a merge commit always, for a squash
    # commit when the PR's author merged it themselves.
    merged = con.execute(
        """
        SELECT DISTINCT lower(p.merged_by_login), lower(c.author_email)
        FROM commits c JOIN pull_requests p ON p.repo_id = c.repo_id AND p.number = c.pr_number
        WHERE p.merge_commit_sha = c.sha AND lower(c.committer_email_raw) = 'noreply@github.com'
          AND p.merged_by_login IS NOT NULL AND c.author_email <> ''
          AND (c.is_merge OR lower(p.author_login) = lower(p.merged_by_login))
        """
    ).fetchall()
    for login, email in merged:
        a, b = identity_id("github_login", login), identity_id("email", email)
        new.setdefault(a, "github_merge")
        groups.union(a, b, "github_merge")


def _active_merges(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, list[str]]]:
    return con.execute(
        "SELECT merge_id, from_person_id, into_person_id, identity_ids FROM identity_merges "
        "WHERE undone_at IS NULL ORDER BY merged_at, merge_id"
    ).fetchall()


def refresh(con: duckdb.DuckDBPyConnection, config: Config) -> Resolution:
    """Rebuild ``identities`` links, automatic ``people`` and bot flags from everything stored.

    Reads commits, commit_coauthors, pull_requests, reviews, comments, issues, pr_timeline_events,
    releases, deployments, incidents, login_emails, roster_identities and identity_merges; writes
    identities (person_id, link_reason, is_bot, bot_kind, seen times), people (rows with source
    'auto' are replaced; is_bot/bot_kind of every person) and the ``*_is_bot`` activity flags.
    Runs in one transaction; idempotent (a second run changes no row).

    Returns:
        A :class:`Resolution` with counts and any conflicts (evidence tying two roster people).
    """
    with warehouse.transaction(con):
        result = _refresh(con, config)
    return result


def _refresh(con: duckdb.DuckDBPyConnection, config: Config) -> Resolution:
    _collect_identities(con)
    groups = _Groups()
    claims: dict[str, str] = dict(con.execute("SELECT identity_id, person_id FROM roster_identities").fetchall())
    new: dict[str, str] = {ident: "roster" for ident in claims}
    roster_rows = con.execute("SELECT person_id, lower(display_name) FROM people WHERE source = 'roster'").fetchall()
    roster_people = {person for person, _ in roster_rows}
    # A name an incident tool records ('name:ada lovelace') is the roster person of that exact
    # name, when only one roster person has it.
    by_name: dict[str, list[str]] = defaultdict(list)
    for person, name in roster_rows:
        by_name[name].append(person)
    name_claims = set()
    for (ident,) in con.execute("SELECT identity_id FROM identities WHERE kind = 'name'").fetchall():
        _, recorded_name = split_key(ident) or ("name", "")
        owners = by_name.get(recorded_name, [])
        if len(owners) == 1 and ident not in claims:
            claims[ident] = owners[0]
            name_claims.add(ident)
    _evidence(con, groups, new)

    # Merges: roster person into roster person is an alias; otherwise the moved identities are
    # joined to the target's anchor, and a roster claim on a moved identity follows a merge into
    # a roster person.
    alias: dict[str, str] = {}
    for merge_id, from_key, into_key, moved in _active_merges(con):
        into_key = alias.get(into_key, into_key)
        if from_key in roster_people and into_key in roster_people:
            alias[from_key] = into_key
            for other, target in list(alias.items()):
                if target == from_key:
                    alias[other] = into_key
        anchor = _anchor(into_key, claims, alias)
        if anchor is None:
            continue
        new.setdefault(anchor, "merge")
        for ident in moved:
            new.setdefault(ident, "merge")
            if into_key in roster_people and ident in claims:
                claims[ident] = into_key  # the merge overrides the roster for what it moved
            groups.union(ident, anchor, f"merge {merge_id}")
    claims = {ident: alias.get(person, person) for ident, person in claims.items()}
    by_person: dict[str, list[str]] = defaultdict(list)
    for ident, person in claims.items():
        by_person[person].append(ident)
    for idents in by_person.values():
        for other in idents[1:]:
            groups.union(idents[0], other, "roster")
    _add_identities(con, new)
    all_ids = [row[0] for row in con.execute("SELECT identity_id FROM identities").fetchall()]
    for ident in all_ids:
        groups.find(ident)

    activity = dict(con.execute(f"SELECT identity_id, count(*) FROM ({ACTIVITY_SQL}) GROUP BY 1").fetchall())
    assignment: dict[str, tuple[str | None, str | None]] = {}
    auto_people: dict[str, list[str]] = {}
    result = Resolution()
    for members in groups.members().values():
        owners = sorted({claims[m] for m in members if m in claims})
        if len(owners) == 1:
            for m in members:
                reason = ("roster name" if m in name_claims else "roster") if m in claims else ", ".join(sorted(groups.reasons[m]))
                assignment[m] = (owners[0], reason)
        elif len(owners) > 1:
            result.conflicts.append(
                f"evidence links identities of {', '.join(owners)} "
                f"({', '.join(sorted(members)[:6])}); each keeps its roster identities, the rest stay "
                "unresolved: fix the roster or .mailmap, or undo a merge."
            )
            for m in members:
                assignment[m] = (claims[m], "roster") if m in claims else (None, "conflict: " + ", ".join(owners))
        elif len(members) >= 2:
            person = "auto:" + _canonical(members, activity)
            auto_people[person] = members
            for m in members:
                assignment[m] = (person, ", ".join(sorted(groups.reasons[m])))
        else:
            assignment[members[0]] = (None, None)

    with _rows_table(
        con, "_assign", ("identity_id", "person_id", "link_reason"), [(k, p, r) for k, (p, r) in assignment.items()]
    ):
        con.execute(
            "UPDATE identities SET person_id = a.person_id, link_reason = a.link_reason FROM _assign a "
            "WHERE identities.identity_id = a.identity_id"
        )

    con.execute("DELETE FROM people WHERE source = 'auto'")
    _insert_auto_people(con, auto_people, activity)

    result.bots = bots.flag_identities(con, config)
    con.execute(
        """
        UPDATE people SET is_bot = s.all_bot,
               bot_kind = CASE WHEN s.any_ai THEN 'ai_reviewer' WHEN s.all_bot THEN 'bot' END
        FROM (SELECT person_id, bool_and(is_bot) AS all_bot, bool_or(bot_kind = 'ai_reviewer') AS any_ai
              FROM identities WHERE person_id IS NOT NULL GROUP BY person_id) s
        WHERE people.person_id = s.person_id
        """
    )
    bots.flag_activity(con)
    counts = con.execute(
        "SELECT count(*), count(person_id), count(DISTINCT person_id) FROM identities"
    ).fetchall()[0]
    result.identities, result.resolved, result.people = counts
    result.auto_people = len(auto_people)
    result.shared_names = suggestion_rows(con).aggregate("count(*)").fetchall()[0][0]
    return result


def _anchor(key: str, claims: dict[str, str], alias: dict[str, str]) -> str | None:
    """An identity standing for ``key`` (an identity id, ``auto:<identity id>`` or a roster person)."""
    if key.startswith("auto:"):
        return key[len("auto:"):]
    if split_key(key):
        return key
    person = alias.get(key, key)
    owned = sorted(i for i, p in claims.items() if alias.get(p, p) == person)
    return owned[0] if owned else None


def _canonical(members: list[str], activity: dict[str, int]) -> str:
    """The identity that names an automatic person: its GitHub login if it has one, else its busiest email."""
    logins = sorted(m for m in members if m.startswith("github_login:"))
    if logins:
        return logins[0]
    return sorted(members, key=lambda m: (-activity.get(m, 0), m))[0]


def _insert_auto_people(
    con: duckdb.DuckDBPyConnection, auto_people: dict[str, list[str]], activity: dict[str, int]
) -> None:
    """Insert the automatic people: name from their busiest email's commits, login, a real email first."""
    if not auto_people:
        return
    info = {r[0]: r[1:] for r in con.execute("SELECT identity_id, kind, value, display_name FROM identities").fetchall()}
    rows = []
    for person, members in auto_people.items():
        ranked = sorted(members, key=lambda m: (-activity.get(m, 0), m))
        kinds = [(m, *info[m]) for m in ranked if m in info]
        name = next((r[3] for r in kinds if r[3] and r[1] == "email"), None)
        login = next((r[2] for r in kinds if r[1] == "github_login"), None)
        emails = [r[2] for r in kinds if r[1] == "email"]
        email = next((e for e in emails if not e.endswith("@users.noreply.github.com")), emails[0] if emails else None)
        rows.append((person, name or login or email or person, email, login))
    with _rows_table(con, "_auto", ("person_id", "display_name", "primary_email", "github_login"), rows):
        con.execute(
            "INSERT INTO people (person_id, display_name, primary_email, github_login, source) "
            "SELECT person_id, display_name, primary_email, github_login, 'auto' FROM _auto"
        )


# ---------------------------------------------------------------------------------------------
# Merges


class MergeError(ImpactlensError):
    """A merge or unmerge cannot be done as asked (unknown person, already merged, unknown id)."""


def find_actor(con: duckdb.DuckDBPyConnection, text: str) -> tuple[str, list[str]]:
    """Resolve what a user typed to ``(actor key, its identity ids)``.

    ``text`` may be a person id, an identity id (``email:...``, ``github_login:...``), an email,
    ``@login`` or a bare login, or a person's exact display name. The actor key is the person id
    when the identity belongs to a person, else the identity id.

    Raises:
        MergeError: nothing or more than one person matches.
    """
    text = text.strip()
    person = con.execute("SELECT person_id FROM people WHERE person_id = ?", [text]).fetchall()
    if person:
        return text, _identities_of(con, text)
    candidates = []
    key_parts = split_key(text)
    if key_parts:
        candidates.append(identity_id(*key_parts))
    elif text.startswith("@"):
        candidates.append(identity_id("github_login", text[1:]))
    elif "@" in text:
        candidates.append(identity_id("email", text))
    else:
        candidates += [identity_id("github_login", text), identity_id("name", text)]
    for candidate in candidates:
        row = con.execute("SELECT person_id FROM identities WHERE identity_id = ?", [candidate]).fetchall()
        if row:
            key = row[0][0] or candidate
            return key, _identities_of(con, key) if row[0][0] else [candidate]
    named = con.execute("SELECT person_id FROM people WHERE lower(display_name) = lower(?)", [text]).fetchall()
    if len(named) == 1:
        return named[0][0], _identities_of(con, named[0][0])
    if len(named) > 1:
        raise MergeError(f"{len(named)} people are called {text!r}: give a person id ({', '.join(r[0] for r in named)}).")
    raise MergeError(f"no person or identity {text!r} in the warehouse (see `impactlens people list` / `people unresolved`).")


def _identities_of(con: duckdb.DuckDBPyConnection, person_id: str) -> list[str]:
    rows = con.execute("SELECT identity_id FROM identities WHERE person_id = ? ORDER BY 1", [person_id]).fetchall()
    claimed = con.execute("SELECT identity_id FROM roster_identities WHERE person_id = ?", [person_id]).fetchall()
    return sorted({r[0] for r in rows} | {r[0] for r in claimed})


def merge(con: duckdb.DuckDBPyConnection, a: str, b: str, reason: str, config: Config) -> tuple[str, Resolution]:
    """Record that ``a`` and ``b`` are one person (``a``'s identities join ``b``), then :func:`refresh`.

    ``a`` and ``b`` are anything :func:`find_actor` accepts. Writes one ``identity_merges`` row
    (merge_id, merged_at UTC, from/into actor keys, the identity ids moved, reason).

    Returns:
        ``(merge_id, resolution)``.

    Raises:
        MergeError: empty reason, unknown ``a``/``b``, or ``a`` and ``b`` already one actor.
    """
    if not reason or not reason.strip():
        raise MergeError("a merge needs a reason (--reason), so a wrong merge can be understood and undone.")
    from_key, moved = find_actor(con, a)
    into_key, _ = find_actor(con, b)
    if from_key == into_key:
        raise MergeError(f"{a!r} and {b!r} are already the same person ({into_key}).")
    merge_id = uuid.uuid4().hex[:12]
    con.execute(
        "INSERT INTO identity_merges VALUES (?, now(), ?, ?, ?, ?, NULL)",
        [merge_id, from_key, into_key, moved, reason.strip()],
    )
    return merge_id, refresh(con, config)


def unmerge(con: duckdb.DuckDBPyConnection, merge_id: str, config: Config) -> Resolution:
    """Undo merge ``merge_id`` (``undone_at`` is set; the row stays as a record), then :func:`refresh`.

    Raises:
        MergeError: no such merge, or it was undone already.
    """
    row = con.execute("SELECT undone_at FROM identity_merges WHERE merge_id = ?", [merge_id]).fetchall()
    if not row:
        raise MergeError(f"no merge {merge_id!r} (see `impactlens people merges`).")
    if row[0][0] is not None:
        raise MergeError(f"merge {merge_id} was already undone at {row[0][0]:%Y-%m-%d %H:%M} UTC.")
    con.execute("UPDATE identity_merges SET undone_at = now() WHERE merge_id = ?", [merge_id])
    return refresh(con, config)
