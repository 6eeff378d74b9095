"""Identity resolution: one person, many identities (emails, GitHub logins, names); teams over time.

How it works (docs/identities.md):

1. :func:`refresh` gathers every identity the activity tables name (commit authors, committers and
   co-authors, both mailmapped and raw; PR authors and mergers; reviewers; commenters; issue authors
   and assignees; timeline actors; release and deployment creators; incident commanders and
   responders) into ``identities``, keyed ``kind:lower(value)`` (the shared data contract).
2. It links identities that evidence says are one person (a union-find over these edges):
   ``mailmap`` (git mapped a raw email to another), ``noreply`` (``12345+login@users.noreply.github.com``
   or ``login@users.noreply.github.com`` is ``login``), ``login_email`` (GitHub tied the email to the
   login: table ``login_emails``), ``github_merge`` (the author email of a PR's merge or self-merged
   squash commit that GitHub wrote is the merger's), ``roster`` (the roster file lists both for one person; a ``name:``
   identity, as incident tools record people, is the one roster person of exactly that name) and
   ``merge`` (``impactlens people merge``, recorded in ``identity_merges``).
3. A group holding identities the roster gives one person belongs to that roster person; a group of
   two or more identities with no roster person becomes an automatic person ``auto:<identity_id>``;
   a lone identity stays unresolved (``person_id`` NULL; metrics count it as its own actor).
   A group that evidence ties to two roster people is a conflict: each roster person keeps the
   identities the roster gives them, the rest stay unresolved, and ``refresh`` reports it.
4. Bots are flagged (:mod:`impactlens.bots`) on identities and people, and the ``*_is_bot`` flags
   of activity rows are aligned.

Resolution is recomputed from scratch each time from the evidence, the roster and the merges not
undone, so ``people unmerge`` restores exactly what the evidence alone says.

Metrics count an actor as ``coalesce(identities.person_id, identity_id)`` (view ``actors``), and a
person's work at time *t* counts for the team(s) they were in at *t* (:func:`attach_teams`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from impactlens import bots, warehouse
from impactlens.errors import FileProblemsError, ImpactlensError
from impactlens.identity import KINDS, identity_id, identity_sql  # the key's rule; KINDS, identity_id re-exported
from impactlens.membership import member_on_sql
from impactlens.config import Config

# 12345+login@users.noreply.github.com (since 2017) and login@users.noreply.github.com (older).
_NOREPLY = re.compile(r"^(?:\d+\+)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\[bot\])?)@users\.noreply\.github\.com$")
_SLUG = re.compile(r"[^a-z0-9]+")

# Every place an identity acts: (identity kind expression, value, display name, source, time).
# A committer is counted only when not the commit's author (one commit, one row for its author).
# ``person_value`` classifies free text (incident commanders): '@login', an email, or a name.
_ACTIVITY_SQL = f"""
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
        FROM ({_ACTIVITY_SQL}) GROUP BY identity_id
        ON CONFLICT (identity_id) DO UPDATE SET
            display_name = coalesce(excluded.display_name, identities.display_name),
            first_seen_at = excluded.first_seen_at,
            last_seen_at = excluded.last_seen_at
        """
    )


def _rows_table(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """An all-VARCHAR frame, for bulk writes (one statement instead of one per row)."""
    return warehouse.frame({c: [r[i] for r in rows] for i, c in enumerate(columns)})


def _add_identities(con: duckdb.DuckDBPyConnection, new: dict[str, str]) -> None:
    """Insert the identities in ``new`` (identity id -> source) that the table does not hold yet."""
    if not new:
        return
    con.register("_new_identities", _rows_table(("identity_id", "source"), list(new.items())))
    try:
        con.execute(
            "INSERT INTO identities (identity_id, kind, value, source) "
            "SELECT identity_id, split_part(identity_id, ':', 1), substr(identity_id, strpos(identity_id, ':') + 1), "
            "source FROM _new_identities ON CONFLICT (identity_id) DO NOTHING"
        )
    finally:
        con.unregister("_new_identities")


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
        owners = by_name.get(ident[len("name:"):], [])
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

    activity = dict(con.execute(f"SELECT identity_id, count(*) FROM ({_ACTIVITY_SQL}) GROUP BY 1").fetchall())
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

    con.register("_assign", _rows_table(
        ("identity_id", "person_id", "link_reason"), [(k, p, r) for k, (p, r) in assignment.items()]
    ))
    try:
        con.execute(
            "UPDATE identities SET person_id = a.person_id, link_reason = a.link_reason FROM _assign a "
            "WHERE identities.identity_id = a.identity_id"
        )
    finally:
        con.unregister("_assign")

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
    result.shared_names = suggestions(con).height
    return result


def _anchor(key: str, claims: dict[str, str], alias: dict[str, str]) -> str | None:
    """An identity standing for ``key`` (an identity id, ``auto:<identity id>`` or a roster person)."""
    if key.startswith("auto:"):
        return key[len("auto:"):]
    if key.split(":", 1)[0] in KINDS and ":" in key:
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
    con.register("_auto", _rows_table(("person_id", "display_name", "primary_email", "github_login"), rows))
    try:
        con.execute(
            "INSERT INTO people (person_id, display_name, primary_email, github_login, source) "
            "SELECT person_id, display_name, primary_email, github_login, 'auto' FROM _auto"
        )
    finally:
        con.unregister("_auto")


# ---------------------------------------------------------------------------------------------
# The roster file


class RosterError(FileProblemsError):
    """The roster file is malformed; ``problems`` names each problem's line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(path, "rejected, nothing imported", problems)


@dataclass
class Membership:
    """One period of a person in a team: ``valid_from`` inclusive, ``valid_to`` exclusive (None = ongoing)."""

    team_id: str
    valid_from: dt.date
    valid_to: dt.date | None
    role: str | None = None
    line: int = 0


@dataclass
class RosterPerson:
    """One roster entry, as parsed and checked."""

    person_id: str
    name: str
    emails: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    level: str | None = None
    title: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    manager: str | None = None
    memberships: list[Membership] = field(default_factory=list)
    line: int = 0


@dataclass
class Roster:
    """A parsed roster: people, the teams they name (``team_id -> (name, parent_team_id)``) and the
    services each team owns (``team_id -> [service]``, YAML rosters only)."""

    people: list[RosterPerson]
    teams: dict[str, tuple[str, str | None]]
    services: dict[str, list[str]] = field(default_factory=dict)


PERSON_KEYS = {
    "id", "name", "emails", "email", "logins", "login", "github", "team", "teams", "level", "title",
    "start_date", "end_date", "manager",
}
MEMBERSHIP_KEYS = {"team", "from", "to", "role"}
CSV_COLUMNS = (
    "id", "name", "emails", "logins", "team", "team_from", "team_to", "role", "level", "title",
    "start_date", "end_date", "manager",
)
# Ongoing membership with no start date: counted from this date.
EPOCH = dt.date(1970, 1, 1)


def slug(text: str) -> str:
    """``'Ada Lovelace' -> 'ada-lovelace'`` (default person and team ids)."""
    return _SLUG.sub("-", text.strip().lower()).strip("-")


def _split(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in re.split(r"[;,\s]+", str(value)) if v.strip()]


def _split_list(value: Any) -> list[str]:
    """A YAML list, or a comma-separated string (service names may contain spaces)."""
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list) else str(value).split(",")


class _BadDate(str):
    """A YAML date that does not exist (``2024-13-01``), with the line it is on."""

    line: int

    def __new__(cls, text: str, line: int) -> "_BadDate":
        made = super().__new__(cls, text)
        made.line = line
        return made


def _date(value: Any, what: str, problems: list[str], where: str) -> dt.date | None:
    if isinstance(value, _BadDate):
        where = f"line {value.line}"
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(f"{where}: {what} {str(value)!r} is not a date (YYYY-MM-DD)")
        return None


def load_roster(path: str | Path) -> Roster:
    """Parse and check a roster file (``.yaml``/``.yml`` or ``.csv``; format in docs/identities.md).

    Returns:
        A :class:`Roster`.

    Raises:
        RosterError: missing file, bad YAML/CSV, unknown keys, missing names, bad dates, a
            membership ending before it starts, overlapping periods in one team, or one email or
            login given to two people; every problem is listed with its line.
    """
    path = Path(path)
    if not path.exists():
        raise RosterError(path, ["file does not exist"])
    text = path.read_text(encoding="utf-8-sig")
    services: dict[str, list[str]] = {}
    if path.suffix.lower() == ".csv":
        people, teams, problems = _parse_csv(text)
    elif path.suffix.lower() in (".yaml", ".yml"):
        people, teams, problems = _parse_yaml(text, services)
    else:
        raise RosterError(path, ["the roster must be a .yaml, .yml or .csv file"])
    problems += _check_roster(people)
    if problems:
        raise RosterError(path, problems)
    for person in people:
        for m in person.memberships:
            teams.setdefault(m.team_id, (m.team_id, None))
    return Roster(people, teams, services)


def _parse_yaml(
    text: str, services: dict[str, list[str]]
) -> tuple[list[RosterPerson], dict[str, tuple[str, str | None]], list[str]]:
    """People, teams and problems of a YAML roster; the teams' services are added to ``services``."""
    import yaml

    class LineLoader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
        data = loader.construct_mapping(node, deep=True)
        data["__line__"] = node.start_mark.line + 1
        return data

    def timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        # YAML reads 2024-13-01 as a date and fails with a bare ValueError: keep it as text with its line,
        # so the roster check reports it as a bad date on that line.
        try:
            return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
        except ValueError:
            return _BadDate(node.value, node.start_mark.line + 1)

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    LineLoader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    try:
        data = yaml.load(text, Loader=LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        return [], {}, [f"{where}: {getattr(exc, 'problem', None) or exc}"]
    problems: list[str] = []
    teams: dict[str, tuple[str, str | None]] = {}
    if isinstance(data, list):
        entries = data
    elif isinstance(data, dict):
        unknown = set(data) - {"people", "teams", "__line__"}
        if unknown:
            problems.append(f"line 1: unknown top-level key(s) {', '.join(sorted(unknown))} (known: people, teams)")
        entries = data.get("people") or []
        for team in data.get("teams") or []:
            if not isinstance(team, dict) or not (team.get("id") or team.get("name")):
                problems.append(f"line {_line(team)}: a team needs an id or a name")
                continue
            unknown = set(team) - {"id", "name", "parent", "services", "__line__"}
            if unknown:
                problems.append(f"line {_line(team)}: unknown key(s) {', '.join(sorted(unknown))} (known: id, name, parent, services)")
            team_id = slug(str(team.get("id") or team["name"]))
            parent = team.get("parent")
            teams[team_id] = (str(team.get("name") or team_id), slug(str(parent)) if parent else None)
            services[team_id] = [s.strip() for s in _split_list(team.get("services")) if s.strip()]
    else:
        return [], {}, ["line 1: the roster must be a list of people or a mapping with 'people' (and 'teams')"]
    people: list[RosterPerson] = []
    for entry in entries:
        line = _line(entry)
        if not isinstance(entry, dict):
            problems.append(f"line {line}: each person must be a mapping (name:, emails:, ...)")
            continue
        where = f"line {line}"
        unknown = set(entry) - PERSON_KEYS - {"__line__"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        person = _person(entry, where, line, problems)
        if person is None:
            continue
        raw_teams = entry.get("teams")
        if raw_teams is not None and entry.get("team"):
            problems.append(f"{where}: give either team: or teams:, not both")
        if raw_teams is None and entry.get("team"):
            raw_teams = [{"team": entry["team"], "__line__": line}]
        for item in raw_teams or []:
            item_line = _line(item) or line
            if isinstance(item, str):
                item = {"team": item}
            if not isinstance(item, dict) or not item.get("team"):
                problems.append(f"line {item_line}: a team period needs team: (and from:, to:)")
                continue
            unknown = set(item) - MEMBERSHIP_KEYS - {"__line__"}
            if unknown:
                problems.append(f"line {item_line}: unknown key(s) {', '.join(sorted(unknown))} (known: team, from, to, role)")
            start = _date(item.get("from"), "from", problems, f"line {item_line}")
            end = _date(item.get("to"), "to", problems, f"line {item_line}")
            person.memberships.append(
                Membership(slug(str(item["team"])) or str(item["team"]), start or person.start_date or EPOCH,
                           end if end else person.end_date, item.get("role"), item_line)
            )
        people.append(person)
    return people, teams, problems


def _line(node: Any) -> int:
    return node.get("__line__", 0) if isinstance(node, dict) else 0


def _person(entry: dict[str, Any], where: str, line: int, problems: list[str]) -> RosterPerson | None:
    name = str(entry.get("name") or "").strip()
    if not name:
        problems.append(f"{where}: a person needs a name")
        return None
    person_id = str(entry.get("id") or slug(name))
    emails = _split(entry.get("emails")) + _split(entry.get("email"))
    logins = [v.lstrip("@") for v in _split(entry.get("logins")) + _split(entry.get("login")) + _split(entry.get("github"))]
    for email in emails:
        if "@" not in email:
            problems.append(f"{where}: {email!r} is not an email")
    return RosterPerson(
        person_id=person_id, name=name, emails=emails, logins=logins,
        level=_text(entry.get("level")), title=_text(entry.get("title")),
        start_date=_date(entry.get("start_date"), "start_date", problems, where),
        end_date=_date(entry.get("end_date"), "end_date", problems, where),
        manager=_text(entry.get("manager")), line=line,
    )


def _text(value: Any) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def _parse_csv(text: str) -> tuple[list[RosterPerson], dict[str, tuple[str, str | None]], list[str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    problems: list[str] = []
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)})")
    if "name" not in header:
        return [], {}, problems + ["line 1: the roster needs a 'name' column"]
    reader.fieldnames = header
    people: dict[str, RosterPerson] = {}
    for row in reader:
        line = reader.line_num
        where = f"line {line}"
        if None in row:
            problems.append(f"{where}: more fields than the header has columns")
        row = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        person = _person(row, where, line, problems)
        if person is None:
            continue
        known = people.get(person.person_id)
        if known is None:
            people[person.person_id] = known = person
        else:
            for attr in ("name", "level", "title", "start_date", "end_date", "manager"):
                mine, theirs = getattr(person, attr), getattr(known, attr)
                if mine and theirs and mine != theirs:
                    problems.append(f"{where}: {attr} {mine!r} differs from line {known.line} ({theirs!r})")
                elif mine and not theirs:
                    setattr(known, attr, mine)
            known.emails += [e for e in person.emails if e not in known.emails]
            known.logins += [g for g in person.logins if g not in known.logins]
        if row.get("team"):
            start = _date(row.get("team_from"), "team_from", problems, where)
            end = _date(row.get("team_to"), "team_to", problems, where)
            known.memberships.append(
                Membership(slug(row["team"]), start or person.start_date or EPOCH, end or person.end_date,
                           row.get("role") or None, line)
            )
    return list(people.values()), {}, problems


def _check_roster(people: list[RosterPerson]) -> list[str]:
    problems = []
    seen_ids: dict[str, int] = {}
    owner: dict[str, tuple[str, int]] = {}
    for person in people:
        if person.person_id in seen_ids and seen_ids[person.person_id] != person.line:
            problems.append(
                f"line {person.line}: id {person.person_id!r} is already used on line {seen_ids[person.person_id]} "
                "(give one of them an id:)"
            )
        seen_ids.setdefault(person.person_id, person.line)
        if not person.emails and not person.logins:
            problems.append(f"line {person.line}: {person.name} needs at least one email or login")
        for ident in person_identity_ids(person):
            if ident in owner and owner[ident][0] != person.person_id:
                problems.append(f"line {person.line}: {ident} is also given to {owner[ident][0]} on line {owner[ident][1]}")
            owner.setdefault(ident, (person.person_id, person.line))
        if person.start_date and person.end_date and person.end_date <= person.start_date:
            problems.append(f"line {person.line}: end_date {person.end_date} is not after start_date {person.start_date}")
        periods = sorted(person.memberships, key=lambda m: (m.team_id, m.valid_from))
        for m in periods:
            if m.valid_to and m.valid_to <= m.valid_from:
                problems.append(f"line {m.line}: team {m.team_id} period ends ({m.valid_to}) before it starts ({m.valid_from})")
        for a, b in zip(periods, periods[1:]):
            if a.team_id == b.team_id and (a.valid_to is None or a.valid_to > b.valid_from):
                problems.append(f"line {b.line}: {person.name} is already in team {a.team_id} on {b.valid_from} (line {a.line})")
    return problems


def person_identity_ids(person: RosterPerson) -> list[str]:
    """The identity ids a roster entry claims (its emails and logins)."""
    return [identity_id("email", e) for e in person.emails] + [identity_id("github_login", g) for g in person.logins]


def import_roster(con: duckdb.DuckDBPyConnection, path: str | Path, config: Config) -> tuple[int, list[str], Resolution]:
    """Replace the roster in the warehouse with the file at ``path``, then :func:`refresh`.

    Writes people (source 'roster'; earlier roster people not in the file are removed), teams
    (upserted), team_memberships, team_services and roster_identities (replaced whole).

    Returns:
        ``(people imported, warnings, resolution)``; a warning names a manager not in the roster.

    Raises:
        RosterError: the file is malformed (nothing is written).
    """
    roster = load_roster(path)
    lookup: dict[str, str] = {}
    for person in roster.people:
        for key in [person.person_id, person.name.lower(), *(e.lower() for e in person.emails),
                    *(g.lower() for g in person.logins), *("@" + g.lower() for g in person.logins)]:
            lookup.setdefault(key, person.person_id)
    warnings = []
    with warehouse.transaction(con):
        con.execute("DELETE FROM people WHERE source = 'roster'")
        con.execute("DELETE FROM roster_identities")
        con.execute("DELETE FROM team_memberships")
        con.execute("DELETE FROM team_services")
        for team_id, owned in roster.services.items():
            for service in dict.fromkeys(owned):
                con.execute("INSERT INTO team_services VALUES (?, ?)", [team_id, service])
        for team_id, (name, parent) in roster.teams.items():
            con.execute(
                "INSERT INTO teams VALUES (?, ?, ?) ON CONFLICT (team_id) DO UPDATE SET "
                "name = excluded.name, parent_team_id = coalesce(excluded.parent_team_id, teams.parent_team_id)",
                [team_id, name, parent],
            )
        for p in roster.people:
            manager = None
            if p.manager:
                manager = lookup.get(p.manager.lower())
                if manager is None:
                    warnings.append(f"line {p.line}: manager {p.manager!r} of {p.name} is not in the roster")
            con.execute(
                "DELETE FROM people WHERE person_id = ?", [p.person_id]
            )
            con.execute(
                "INSERT INTO people (person_id, display_name, primary_email, github_login, level, title, "
                "start_date, end_date, manager_person_id, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'roster')",
                [p.person_id, p.name, p.emails[0].lower() if p.emails else None,
                 p.logins[0] if p.logins else None, p.level, p.title, p.start_date, p.end_date, manager],
            )
            for ident in person_identity_ids(p):
                con.execute("INSERT INTO roster_identities VALUES (?, ?)", [ident, p.person_id])
            for m in p.memberships:
                con.execute(
                    "INSERT INTO team_memberships VALUES (?, ?, ?, ?, ?)",
                    [p.person_id, m.team_id, m.valid_from, m.valid_to, m.role],
                )
    return len(roster.people), warnings, refresh(con, config)


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
    if ":" in text and text.split(":", 1)[0] in KINDS:
        candidates.append(identity_id(*text.split(":", 1)))
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
        WITH act AS (SELECT identity_id, count(*) AS activity FROM ({_ACTIVITY_SQL}) GROUP BY 1),
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
    frame = con.sql(
        f"""
        WITH act AS (SELECT identity_id, count(*) AS activity FROM ({_ACTIVITY_SQL}) GROUP BY 1),
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
    ).pl()
    return frame


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
    kind, _, value = person_key.partition(":")
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
