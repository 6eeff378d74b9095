"""The roster file (YAML or CSV): who is who, in which team when; :func:`import_roster` stores it and refreshes
resolution (docs/identities.md "Roster").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from impactlens import warehouse
from impactlens.errors import FileProblemsError
from impactlens.identity import identity_id
from impactlens.config import Config
from impactlens.people.resolution import Resolution, refresh

_SLUG = re.compile(r"[^a-z0-9]+")


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
