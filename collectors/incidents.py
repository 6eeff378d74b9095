"""Incidents: exports of PagerDuty, Opsgenie and incident.io, a generic CSV, labelled GitHub issues, reverts.

File imports (:func:`load_file`, ``impactlens collect incidents FILE``) read CSV or JSON; the format
is detected from the columns or keys (or given). The whole file is checked first: any problem
(a missing id or open time, a date that cannot be read, a resolution before the opening, an id
twice) rejects the file, with the line and column of each problem, and nothing is stored. An
incident with no resolution time is kept open (``status`` 'open', ``resolved_at`` NULL). Rows are
upserted on ``incident_id = '<source>:<external id>'``, so loading a file twice stores it once, and
loading a newer export updates the incidents it repeats (an open incident becomes resolved).

Derived incidents (:func:`derive`): GitHub issues carrying one of ``[incidents] labels`` (source
'github_issue'), and, when ``[incidents] reverts_as_incidents`` is on, reverted changes (source
'revert'): the incident runs from the original change's merge to the revert's merge.

Every incident is then attributed to a deployment (:func:`attribute`), with the reason written in
``attribution_reason`` so a reader can check it. Formats, columns and rules: docs/incidents.md.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow as pa

from impactlens import warehouse
from impactlens.errors import CollectionError, FileProblemsError
from impactlens.config import Config

FORMATS = ("pagerduty", "opsgenie", "incidentio", "generic")
#: How attribute() begins incidents.attribution_reason for each rule (docs/incidents.md "Attribution"); the
#: metrics read the rule back from these prefixes.
REASON_NAMED_COMMIT = "its text names "
REASON_LATEST_DEPLOYMENT = "latest successful production deployment "

_SHA_TEXT = re.compile(r"\b[0-9a-f]{7,40}\b")


class IncidentFileError(FileProblemsError, CollectionError):
    """An export file was rejected; ``problems`` lists each as ``'line L, column C (field): ...'``."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(path, "rejected, nothing stored", problems)


@dataclass
class Incident:
    """One incident, normalised (times are aware datetimes in UTC)."""

    source: str
    external_id: str
    opened_at: dt.datetime
    title: str | None = None
    severity: str | None = None
    service: str | None = None
    acknowledged_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    commander: str | None = None
    responders: list[str] = field(default_factory=list)
    postmortem_url: str | None = None
    url: str | None = None
    repo_id: str | None = None
    text: str = ""
    cause_sha: str | None = None

    @property
    def incident_id(self) -> str:
        """``'<source>:<external id>'``."""
        return f"{self.source}:{self.external_id}"

    @property
    def status(self) -> str:
        """'resolved' when a resolution time is known, else 'open'."""
        return "resolved" if self.resolved_at else "open"


@dataclass
class LoadResult:
    """What :func:`load_file` read and stored."""

    path: Path
    format: str
    incidents: int = 0
    open: int = 0
    skipped: int = 0
    new: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        skipped = f", {self.skipped} skipped (declined, merged or test incidents)" if self.skipped else ""
        return (
            f"{self.path.name} ({self.format}): {self.incidents} incidents ({self.new} new, {self.open} open){skipped}."
        )


# ---------------------------------------------------------------------------------------------
# Reading files: records with positions


@dataclass
class _Record:
    """One incident in a file: its fields (as read) and where each field is, for error messages."""

    line: int
    values: dict[str, Any]
    where: Callable[[str], str]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _read_csv(text: str) -> tuple[list[str], list[_Record], list[str]]:
    header_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)  # spreadsheets in some locales write ';'
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    problems: list[str] = []
    try:
        header = next(reader)
    except StopIteration:
        return [], [], ["line 1: the file is empty"]
    except csv.Error as exc:
        return [], [], [f"line 1: {exc}"]
    names = [_norm(h) for h in header]
    records: list[_Record] = []
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            break
        line = start
        start = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: {len(row)} fields, but the header has {len(header)}")
            continue
        values = {names[i]: row[i].strip() for i in range(len(row))}

        def where(key: str, _line: int = line) -> str:
            col = names.index(key) + 1 if key in names else 0
            return f"line {_line}, column {col} ({header[col - 1]})" if col else f"line {_line}"

        records.append(_Record(line, values, where))
    return names, records, problems


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _read_json(text: str) -> tuple[str | None, list[_Record], list[str]]:
    """Records of a JSON export (a list, or an object holding the list under a known key)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [], [f"line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"]
    key = None
    if isinstance(data, dict):
        key = next((k for k in ("incidents", "data", "items", "results") if isinstance(data.get(k), list)), None)
        if key is None:
            return None, [], ["line 1, column 1: expected a list of incidents, or an object with 'incidents' or 'data'"]
        items = data[key]
        match = re.search(r'"' + key + r'"\s*:\s*\[', text)
        start = match.end() if match else text.index("[") + 1
    elif isinstance(data, list):
        items = data
        start = text.index("[") + 1
    else:
        return None, [], ["line 1, column 1: expected a list of incidents"]
    # Walk the array again to learn where each element starts and ends.
    decoder = json.JSONDecoder()
    spans = []
    pos = start
    for _ in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        _, end = decoder.raw_decode(text, pos)
        spans.append((pos, end))
        pos = end
    records: list[_Record] = []
    for item, (begin, end) in zip(items, spans):
        line, col = _position(text, begin)
        if not isinstance(item, dict):
            records.append(_Record(line, {}, lambda k, _l=line, _c=col: f"line {_l}, column {_c}"))  # type: ignore[misc]
            continue

        def where(key: str, _b: int = begin, _e: int = end, _l: int = line, _c: int = col) -> str:
            found = text.find(f'"{key}"', _b, _e)
            if found < 0:
                return f"line {_l}, column {_c} ({key})"
            fl, fc = _position(text, found)
            return f"line {fl}, column {fc} ({key})"

        records.append(_Record(line, item, where))
    return key, records, []


# ---------------------------------------------------------------------------------------------
# Values


def parse_time(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 text (naive text is taken as UTC), epoch seconds or
    milliseconds; None for empty values. Raises ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{9,13}", value.strip())):
        number = float(value)
        if number > 1e11:  # milliseconds (Opsgenie)
            number /= 1000
        return dt.datetime.fromtimestamp(number, dt.timezone.utc)
    text = str(value).strip().replace(" UTC", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _first(values: dict[str, Any], *keys: str) -> tuple[str | None, Any]:
    for key in keys:
        value = values.get(key)
        if value not in (None, "", []):
            return key, value
    return None, None


def _names(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("name") or item.get("summary") or item.get("email") or item.get("id")
            if item:
                out.append(str(item).strip())
        return out
    return [v.strip() for v in re.split(r"[;,|]", str(value)) if v.strip()]


# ---------------------------------------------------------------------------------------------
# Formats: each maps a record to the fields of an Incident (value and the key it came from).

# Column names (normalised: lower case, letters and digits only) each CSV format uses.
CSV_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "generic": {
        "id": ("id",), "title": ("title",), "severity": ("severity",), "service": ("service",),
        "opened": ("opened", "openedat"), "acknowledged": ("acknowledged", "acknowledgedat"),
        "resolved": ("resolved", "resolvedat"), "commander": ("commander",),
        "responders": ("responders",), "postmortem": ("postmortemlink", "postmortem", "postmortemurl"),
        "url": ("url", "link"), "repo": ("repo", "repository"), "text": ("description", "summary"),
        "status": ("status",),
    },
    # PagerDuty's incident CSV export (Incidents page, "Export CSV"; Analytics raw incident data).
    "pagerduty": {
        "id": ("incidentnumber", "id"), "title": ("title", "description"), "severity": ("priority", "urgency"),
        "service": ("servicename",), "opened": ("createdon", "createdat"),
        "acknowledged": ("acknowledgedon", "firstacknowledgedon", "acknowledgedat"),
        "resolved": ("resolvedon", "resolvedat"), "commander": ("assignedto", "acknowledgedby", "resolvedby"),
        "responders": ("assignedto", "acknowledgedby"), "postmortem": ("postmortem",),
        "url": ("htmlurl", "url"), "repo": (), "text": ("summary", "description"), "status": ("status",),
    },
    # Opsgenie incident list export.
    "opsgenie": {
        "id": ("tinyid", "id"), "title": ("message",), "severity": ("priority",),
        "service": ("impactedservices", "services"), "opened": ("impactstartdate", "createdat"),
        "acknowledged": ("acknowledgedat",), "resolved": ("impactenddate", "resolvedat", "closedat"),
        "commander": ("owner", "ownerteam"), "responders": ("responders",), "postmortem": ("postmortem",),
        "url": ("link", "url"), "repo": (), "text": ("description",), "status": ("status",),
    },
    # incident.io "Export incidents" CSV (timestamps are named after the incident's timestamps).
    "incidentio": {
        "id": ("reference", "id"), "title": ("name",), "severity": ("severity",),
        "service": ("affectedservices", "services", "service"), "opened": ("reportedat", "createdat", "impactstartedat"),
        "acknowledged": ("acceptedat", "acknowledgedat"), "resolved": ("resolvedat", "closedat"),
        "commander": ("incidentlead", "lead"), "responders": ("responders", "incidentlead"),
        "postmortem": ("postmortemdocument", "postmortemdocumenturl", "postmortem"),
        "url": ("permalink", "url"), "repo": (), "text": ("summary",), "status": ("status",),
    },
}

# Statuses that mean "not an incident after all": the row is skipped (incident.io, PagerDuty).
_SKIP_STATUSES = {"declined", "merged", "canceled", "cancelled", "test"}
_RESOLVED_STATUSES = {"resolved", "closed", "learning", "postmortem", "post-incident", "postincident"}


def detect_format(columns: set[str], json_items: list[dict[str, Any]] | None) -> str | None:
    """The export format from CSV column names (normalised) or the keys of the first JSON item."""
    if json_items is not None:
        keys = set(json_items[0]) if json_items else set()
        if "incident_number" in keys or ("service" in keys and "urgency" in keys):
            return "pagerduty"
        if "tinyId" in keys or "impactStartDate" in keys:
            return "opsgenie"
        if "incident_status" in keys or ("reference" in keys and "name" in keys):
            return "incidentio"
        if {"id", "opened"} <= keys:
            return "generic"
        return None
    if "opened" in columns and "id" in columns:
        return "generic"
    if "createdon" in columns or "incidentnumber" in columns or "servicename" in columns:
        return "pagerduty"
    if "tinyid" in columns or "impactstartdate" in columns:
        return "opsgenie"
    if "reference" in columns and ("name" in columns or "incidentlead" in columns):
        return "incidentio"
    return None


def _from_csv(fmt: str, record: _Record) -> dict[str, tuple[str | None, Any]]:
    columns = CSV_COLUMNS[fmt]
    return {name: _first(record.values, *keys) for name, keys in columns.items()}


def _from_json(fmt: str, item: dict[str, Any]) -> dict[str, tuple[str | None, Any]]:
    def get(key: str) -> tuple[str | None, Any]:
        value = item.get(key)
        return (key, value) if value not in (None, "", []) else (None, None)

    def summary(key: str, sub: str = "summary") -> tuple[str | None, Any]:
        value = item.get(key)
        if isinstance(value, dict):
            value = value.get(sub) or value.get("name")
        return (key, value) if value else (None, None)

    if fmt == "pagerduty":
        acks = item.get("acknowledgements") or []
        ack = ("acknowledgements", min(a["at"] for a in acks if a.get("at"))) if any(a.get("at") for a in acks) else (None, None)
        assignees = [a.get("assignee") for a in item.get("assignments") or []]
        resolved: Any = get("resolved_at")
        if resolved[0] is None and item.get("status") == "resolved":
            resolved = get("last_status_change_at")
        return {
            "id": get("incident_number") if item.get("incident_number") is not None else get("id"),
            "title": get("title"), "severity": summary("priority") if item.get("priority") else get("urgency"),
            "service": summary("service"), "opened": get("created_at"), "acknowledged": ack,
            "resolved": resolved,
            "commander": ("assignments", _names(assignees)[0]) if _names(assignees) else (None, None),
            "responders": ("assignments", _names(assignees)), "postmortem": (None, None),
            "url": get("html_url"), "repo": (None, None),
            "text": ("description", " ".join(str(item.get(k) or "") for k in ("description", "summary"))),
            "status": get("status"),
        }
    if fmt == "opsgenie":
        web = (item.get("links") or {}).get("web") if isinstance(item.get("links"), dict) else None
        return {
            "id": get("tinyId") if item.get("tinyId") else get("id"), "title": get("message"),
            "severity": get("priority"),
            "service": ("impactedServices", ", ".join(_names(item.get("impactedServices")))) if item.get("impactedServices") else (None, None),
            "opened": get("impactStartDate") if item.get("impactStartDate") else get("createdAt"),
            "acknowledged": (None, None),
            "resolved": get("impactEndDate") if item.get("impactEndDate") else get("resolvedAt"),
            "commander": get("ownerTeam"), "responders": ("responders", _names(item.get("responders"))),
            "postmortem": (None, None), "url": ("links", web) if web else (None, None), "repo": (None, None),
            "text": ("description", str(item.get("description") or "")), "status": get("status"),
        }
    if fmt == "incidentio":
        stamps = {
            _norm((v.get("incident_timestamp") or {}).get("name", "")): (v.get("value") or {}).get("value")
            for v in item.get("incident_timestamp_values") or []
        }
        lead = next(
            (a.get("assignee") for a in item.get("incident_role_assignments") or []
             if (a.get("role") or {}).get("role_type") == "lead" and a.get("assignee")),
            None,
        )
        responders = _names([a.get("assignee") for a in item.get("incident_role_assignments") or [] if a.get("assignee")])
        services = []
        for entry in item.get("custom_field_entries") or []:
            if "service" in _norm((entry.get("custom_field") or {}).get("name", "")):
                for value in entry.get("values") or []:
                    name = ((value.get("value_catalog_entry") or {}).get("name")
                            or (value.get("value_option") or {}).get("value") or value.get("value_text"))
                    if name:
                        services.append(name)
        status = item.get("incident_status")
        category = status.get("category") if isinstance(status, dict) else status
        opened = stamps.get("reportedat") or stamps.get("impactstartedat") or item.get("created_at")
        resolved = stamps.get("resolvedat") or stamps.get("closedat") or item.get("resolved_at")
        return {
            "id": get("reference") if item.get("reference") else get("id"), "title": get("name"),
            "severity": summary("severity", "name"),
            "service": ("custom_field_entries", ", ".join(services)) if services else (None, None),
            "opened": ("incident_timestamp_values" if stamps.get("reportedat") else "created_at", opened),
            "acknowledged": ("incident_timestamp_values", stamps.get("acceptedat")) if stamps.get("acceptedat") else (None, None),
            "resolved": ("incident_timestamp_values", resolved) if resolved else (None, None),
            "commander": ("incident_role_assignments", _names([lead])[0]) if lead else (None, None),
            "responders": ("incident_role_assignments", responders),
            "postmortem": get("postmortem_document_url"), "url": get("permalink"), "repo": (None, None),
            "text": ("summary", str(item.get("summary") or "")),
            "status": ("incident_status", category) if category else (None, None),
        }
    return {  # generic JSON: the generic CSV's names as keys
        name: _first({_norm(k): v for k, v in item.items()}, *keys)
        for name, keys in CSV_COLUMNS["generic"].items()
    }


def _build(fmt: str, record: _Record, fields: dict[str, tuple[str | None, Any]], problems: list[str]) -> Incident | None:
    """Check one record's fields and make an Incident (or add its problems and return None)."""
    def at(name: str) -> str:
        key = fields[name][0]
        if key:
            return record.where(key)
        present = [k for k in CSV_COLUMNS[fmt].get(name, ()) if k in record.values]  # an empty cell
        return record.where(present[0] if present else name)

    status_value = str(fields["status"][1] or "").strip().lower()
    if status_value in _SKIP_STATUSES:
        return None
    external_id = fields["id"][1]
    if external_id in (None, ""):
        problems.append(f"{at('id')}: no incident id")
    times: dict[str, dt.datetime | None] = {}
    for name in ("opened", "acknowledged", "resolved"):
        value = fields[name][1]
        try:
            times[name] = parse_time(value)
        except (ValueError, OverflowError, OSError):
            problems.append(f"{at(name)}: {value!r} is not a date and time (ISO 8601 expected)")
            times[name] = None
    if times["opened"] is None and fields["opened"][1] in (None, ""):
        problems.append(f"{at('opened')}: no open time")
    opened = times["opened"]
    if opened and times["resolved"] and times["resolved"] < opened:
        problems.append(f"{at('resolved')}: resolved {times['resolved']:%Y-%m-%d %H:%M} UTC is before it opened ({opened:%Y-%m-%d %H:%M} UTC)")
    if opened and times["acknowledged"] and times["acknowledged"] < opened:
        problems.append(f"{at('acknowledged')}: acknowledged before it opened")
    if times["resolved"] is None and fields["resolved"][1] in (None, "") and status_value in _RESOLVED_STATUSES - {"learning", "postmortem", "post-incident", "postincident"}:
        problems.append(f"{at('status')}: status is {status_value!r} but there is no resolution time")
    if external_id in (None, "") or opened is None:
        return None
    responders = _names(fields["responders"][1])
    commander = fields["commander"][1]
    commander = _names(commander)[0] if _names(commander) else None
    title = fields["title"][1]
    return Incident(
        source=fmt, external_id=str(external_id).strip(), opened_at=opened,
        title=str(title).strip() if title else None,
        severity=str(fields["severity"][1]).strip() if fields["severity"][1] else None,
        service=str(fields["service"][1]).strip() if fields["service"][1] else None,
        acknowledged_at=times["acknowledged"], resolved_at=times["resolved"],
        commander=commander, responders=list(dict.fromkeys(responders)),
        postmortem_url=fields["postmortem"][1] or None, url=fields["url"][1] or None,
        repo_id=fields["repo"][1] or None,
        text=" ".join(str(v) for v in (title, fields["text"][1]) if v),
    )


def read_file(path: str | Path, fmt: str = "auto") -> tuple[str, list[Incident], int]:
    """Read and check an export file completely.

    Args:
        path: a ``.csv`` or ``.json`` export.
        fmt: 'auto' (detect from columns/keys) or one of :data:`FORMATS`.

    Returns:
        ``(format, incidents, skipped)``; skipped counts rows whose status says they are not
        incidents (declined, merged, canceled, test).

    Raises:
        IncidentFileError: any problem anywhere in the file (each with line and column).
    """
    path = Path(path)
    if not path.exists():
        raise IncidentFileError(path, ["the file does not exist"])
    if fmt not in ("auto", *FORMATS):
        raise IncidentFileError(path, [f"unknown format {fmt!r} (auto, {', '.join(FORMATS)})"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IncidentFileError(path, [f"byte {exc.start}: not UTF-8 text"]) from None
    is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{")
    if is_json:
        _, records, problems = _read_json(text)
        detected = detect_format(set(), [r.values for r in records]) if not problems else None
    else:
        names, records, problems = _read_csv(text)
        detected = detect_format(set(names), None) if names else None
    if problems:
        raise IncidentFileError(path, problems)
    chosen = detected if fmt == "auto" else fmt
    if chosen is None:
        raise IncidentFileError(path, [
            "line 1: cannot tell the format from the columns; pass --format "
            f"({', '.join(FORMATS)}); the generic CSV needs at least 'id' and 'opened'"
        ])
    incidents: list[Incident] = []
    seen: dict[str, int] = {}
    skipped = 0
    for record in records:
        if not record.values:
            problems.append(f"{record.where('')}: an incident must be an object")
            continue
        fields = _from_json(chosen, record.values) if is_json else _from_csv(chosen, record)
        incident = _build(chosen, record, fields, problems)
        if incident is None:
            if str(fields["status"][1] or "").strip().lower() in _SKIP_STATUSES:
                skipped += 1
            continue
        if incident.external_id in seen:
            problems.append(f"{record.where(fields['id'][0] or 'id')}: incident {incident.external_id} is already on line {seen[incident.external_id]}")
            continue
        seen[incident.external_id] = record.line
        incidents.append(incident)
    if problems:
        raise IncidentFileError(path, problems)
    return chosen, incidents, skipped


def load_file(
    con: duckdb.DuckDBPyConnection, path: str | Path, *, fmt: str = "auto", repo_id: str | None = None
) -> LoadResult:
    """Check, then store, an incident export (see :func:`read_file`), and attribute its incidents.

    ``repo_id`` ties every incident of the file to one repository (attribution then looks at that
    repository's deployments only); a generic CSV can give a ``repo`` column instead. Writes
    ``incidents`` (upsert on incident_id) and one ``collection_runs`` row, in one transaction.

    Raises:
        IncidentFileError: the file is malformed (nothing is stored; a failed run is recorded).
    """
    path = Path(path)
    run_id = uuid.uuid4().hex
    try:
        chosen, incidents, skipped = read_file(path, fmt)
    except IncidentFileError as exc:
        con.execute(
            "INSERT INTO collection_runs (run_id, source, target, started_at, finished_at, status, error) "
            "VALUES (?, 'incidents', ?, now(), now(), 'failed', ?)",
            [run_id, str(path), str(exc)[:2000]],
        )
        raise
    result = LoadResult(path, chosen, incidents=len(incidents), skipped=skipped)
    result.open = sum(1 for i in incidents if i.resolved_at is None)
    with warehouse.transaction(con):
        known = {r[0] for r in con.execute("SELECT incident_id FROM incidents WHERE source = ?", [chosen]).fetchall()}
        result.new = sum(1 for i in incidents if i.incident_id not in known)
        for incident in incidents:
            incident.repo_id = incident.repo_id or repo_id
            incident.cause_sha = named_sha(con, incident.text, incident.repo_id)
        store(con, incidents)
        attribute(con)
        con.execute(
            "INSERT INTO collection_runs (run_id, source, target, started_at, finished_at, status, counts) "
            "VALUES (?, 'incidents', ?, now(), now(), 'succeeded', ?)",
            [run_id, str(path), json.dumps({"format": chosen, "incidents": len(incidents), "new": result.new})],
        )
    return result


_COLUMNS = (
    "incident_id", "source", "external_id", "repo_id", "title", "severity", "service", "status", "opened_at",
    "acknowledged_at", "resolved_at", "commander", "responders", "postmortem_url", "url", "cause_sha",
)


def store(con: duckdb.DuckDBPyConnection, incidents: list[Incident]) -> None:
    """Upsert ``incidents`` on incident_id (attribution columns are left to :func:`attribute`).

    Status, open and resolution times are replaced by the newer load; a descriptive field the
    newer load leaves empty (a PagerDuty JSON has no assignee once resolved) keeps its known value.
    """
    if not incidents:
        return
    cols = ", ".join(_COLUMNS)
    exact = ("source", "external_id", "status", "opened_at", "resolved_at")
    updates = ", ".join(
        f"{c} = excluded.{c}" if c in exact
        else f"{c} = CASE WHEN len(excluded.{c}) > 0 THEN excluded.{c} ELSE incidents.{c} END" if c == "responders"
        else f"{c} = coalesce(excluded.{c}, incidents.{c})"
        for c in _COLUMNS[1:]
    )
    stamp = pa.timestamp("us", tz="UTC")
    types = {"opened_at": stamp, "acknowledged_at": stamp, "resolved_at": stamp, "responders": pa.list_(pa.string())}
    values = {
        "incident_id": [i.incident_id for i in incidents], "source": [i.source for i in incidents],
        "external_id": [i.external_id for i in incidents], "repo_id": [i.repo_id for i in incidents],
        "title": [i.title for i in incidents], "severity": [i.severity for i in incidents],
        "service": [i.service for i in incidents], "status": [i.status for i in incidents],
        "opened_at": [i.opened_at for i in incidents], "acknowledged_at": [i.acknowledged_at for i in incidents],
        "resolved_at": [i.resolved_at for i in incidents], "commander": [i.commander for i in incidents],
        "responders": [i.responders for i in incidents], "postmortem_url": [i.postmortem_url for i in incidents],
        "url": [i.url for i in incidents], "cause_sha": [i.cause_sha for i in incidents],
    }
    con.register("_incidents", pa.table({c: pa.array(values[c], type=types.get(c, pa.string())) for c in _COLUMNS}))
    try:
        con.execute(
            f"INSERT INTO incidents ({cols}) SELECT {cols} FROM _incidents "
            f"ON CONFLICT (incident_id) DO UPDATE SET {updates}"
        )
    finally:
        con.unregister("_incidents")


def named_sha(con: duckdb.DuckDBPyConnection, text: str, repo_id: str | None) -> str | None:
    """The first hex word (7-40 characters) in ``text`` that is a known commit or deployed sha
    (full sha returned), else None. Words that match no stored commit are ignored (a hex-looking
    word is not a sha unless the warehouse knows it)."""
    for word in _SHA_TEXT.findall(text.lower() if text else ""):
        if word.isdigit():
            continue
        params = [word + "%"] + ([repo_id] if repo_id else [])
        repo_filter = " AND repo_id = ?" if repo_id else ""
        row = con.execute(
            f"SELECT sha FROM (SELECT sha, repo_id FROM commits UNION ALL SELECT sha, repo_id FROM deployments "
            f"WHERE sha IS NOT NULL) WHERE sha LIKE ?{repo_filter} LIMIT 1",
            params,
        ).fetchall()
        if row:
            return row[0][0]
    return None


# ---------------------------------------------------------------------------------------------
# Attribution


def attribute(con: duckdb.DuckDBPyConnection) -> int:
    """Attribute every incident to a deployment and write the reason; returns how many got one.

    Rules (docs/incidents.md), among successful production deployments (``status = 'success'``
    and ``is_production``) of the incident's repository (all repositories when it has none):

    1. the incident's text names a sha (``cause_sha``): the earliest deployment of exactly that
       sha, else the first deployment at or after that commit was committed (the first that can
       have shipped it);
    2. otherwise the latest deployment finished (``coalesce(finished_at, created_at)``) at or
       before the incident opened (DevLake's rule);
    3. otherwise none, and the reason says so.

    The caller owns the transaction.
    """
    deployments = con.execute(
        "SELECT deployment_id, repo_id, sha, coalesce(finished_at, created_at) AS done_at, coalesce(ref, sha) "
        "FROM deployments WHERE status = 'success' AND is_production ORDER BY done_at, deployment_id"
    ).fetchall()
    by_repo: dict[str | None, list[tuple[str, str, str | None, dt.datetime, str | None]]] = {None: []}
    by_sha: dict[tuple[str | None, str], tuple[str, str, str | None, dt.datetime, str | None]] = {}
    for row in deployments:
        by_repo.setdefault(row[1], []).append(row)
        by_repo[None].append(row)
        if row[2]:
            by_sha.setdefault((row[1], row[2]), row)  # the earliest deployment of a sha, per repo
            by_sha.setdefault((None, row[2]), row)
    times_by_repo = {repo: [d[3] for d in pool] for repo, pool in by_repo.items()}
    incidents = con.execute("SELECT incident_id, repo_id, opened_at, cause_sha FROM incidents").fetchall()
    commit_times = {}
    shas = [r[3] for r in incidents if r[3]]
    if shas:
        commit_times = dict(con.execute(
            "SELECT sha, min(committed_at) FROM commits WHERE sha IN (SELECT unnest(?::VARCHAR[])) GROUP BY sha", [shas]
        ).fetchall())
    updates = []
    attributed = 0
    for incident_id, repo_id, opened, cause in incidents:
        pool = by_repo.get(repo_id, []) if repo_id else by_repo[None]
        times = times_by_repo.get(repo_id, []) if repo_id else times_by_repo[None]
        scope = f"of {repo_id}" if repo_id else "(any repository)"
        chosen, reason = None, None
        if cause:
            exact = by_sha.get((repo_id, cause))
            if exact:
                chosen = exact
                reason = f"{REASON_NAMED_COMMIT}{cause[:12]}, deployed as {_label(chosen)} at {_when(chosen[3])}"
            elif cause in commit_times:
                i = bisect.bisect_left(times, commit_times[cause])
                if i < len(pool):
                    chosen = pool[i]
                    reason = (f"{REASON_NAMED_COMMIT}{cause[:12]} (committed {_when(commit_times[cause])}); first production "
                              f"deployment {scope} after it: {_label(chosen)} at {_when(chosen[3])}")
        if chosen is None:
            i = bisect.bisect_right(times, opened) - 1
            if i >= 0:
                chosen = pool[i]
                reason = f"{REASON_LATEST_DEPLOYMENT}{scope} before it opened: {_label(chosen)} at {_when(chosen[3])}"
            else:
                reason = f"no successful production deployment {scope} before it opened"
        attributed += chosen is not None
        updates.append((chosen[0] if chosen else None, reason, incident_id))
    if updates:
        con.register("_attribution", pa.table({
            name: pa.array([u[i] for u in updates], type=pa.string())
            for i, name in enumerate(("deployment_id", "attribution_reason", "incident_id"))
        }))
        try:
            con.execute(
                "UPDATE incidents SET deployment_id = a.deployment_id, attribution_reason = a.attribution_reason "
                "FROM _attribution a WHERE incidents.incident_id = a.incident_id AND "
                "(incidents.deployment_id IS DISTINCT FROM a.deployment_id "
                "OR incidents.attribution_reason IS DISTINCT FROM a.attribution_reason)"
            )
        finally:
            con.unregister("_attribution")
    return attributed


def _label(deployment: tuple[Any, ...]) -> str:
    ref = deployment[4] or deployment[0]
    return ref[:12] if deployment[2] and ref == deployment[2] else ref


def _when(value: dt.datetime) -> str:
    return f"{value.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


# ---------------------------------------------------------------------------------------------
# Derived incidents: labelled GitHub issues and reverts


_SEVERITY_LABEL = re.compile(r"^(?:sev(?:erity)?[-_: ]?\d|p[0-4]$|severity[:/ -].+|priority[:/ -].+)", re.I)
_REVERT_SUBJECT = re.compile(r'^Revert "(.*)"\s*(?:\(#\d+\))?$', re.S)
_REVERTS_COMMIT = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")


@dataclass
class Derived:
    """How many incidents :func:`derive` found from issues and from reverts."""

    issues: int = 0
    reverts: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        return f"{self.issues} incidents from labelled GitHub issues, {self.reverts} from reverts."


def derive(con: duckdb.DuckDBPyConnection, config: Config) -> Derived:
    """Rebuild the incidents derived from GitHub issues and (if configured) reverts, then attribute.

    Issues: every issue in ``issues`` with a label in ``[incidents] labels`` (case-insensitive);
    opened at ``created_at``, resolved at ``closed_at`` (open while the issue is open); severity from
    a label like ``sev1``, ``P1``, ``severity: high``; commander the first assignee, responders all
    assignees. Reverts (``[incidents] reverts_as_incidents``): see :func:`revert_incidents`.
    Derived incidents no longer found (a label removed, the option switched off) are deleted.
    Runs in one transaction.
    """
    with warehouse.transaction(con):
        labels = [label.lower() for label in config["incidents"]["labels"]]
        rows = con.execute(
            "SELECT repo_id, number, title, state, created_at, closed_at, labels, assignees, url FROM issues "
            "WHERE list_has_any(list_transform(labels, lambda l: lower(l)), ?::VARCHAR[])",
            [labels],
        ).fetchall()
        found = []
        for repo_id, number, title, state, created, closed, issue_labels, assignees, url in rows:
            severity = next((label for label in issue_labels or [] if _SEVERITY_LABEL.match(label)), None)
            assignees = ["@" + a for a in assignees or []]
            found.append(Incident(
                source="github_issue", external_id=f"{repo_id}#{number}", opened_at=created, title=title,
                severity=severity, resolved_at=closed if state == "closed" else None,
                commander=assignees[0] if assignees else None, responders=assignees, url=url, repo_id=repo_id,
                text=title or "",
            ))
        reverts = revert_incidents(con) if config["incidents"]["reverts_as_incidents"] else []
        for incident in found:
            incident.cause_sha = named_sha(con, incident.text, incident.repo_id)
        for source, items in (("github_issue", found), ("revert", reverts)):
            keep = [i.incident_id for i in items]
            con.execute(
                "DELETE FROM incidents WHERE source = ? AND incident_id NOT IN (SELECT unnest(?::VARCHAR[]))",
                [source, keep],
            )
            store(con, items)
        attribute(con)
    return Derived(issues=len(found), reverts=len(reverts))


def revert_incidents(con: duckdb.DuckDBPyConnection) -> list[Incident]:
    """Incidents for reverted changes (Middleware's rule: from the original change's merge to the revert's merge).

    * A merged PR whose title is ``Revert "X"`` or whose head branch is ``revert-N-...`` (GitHub's
      Revert button) reverts PR N (or the merged PR titled X): one incident from PR N's
      ``merged_at`` to the revert PR's ``merged_at``; ``cause_sha`` = PR N's merge commit.
    * A commit whose message says ``This reverts commit <sha>`` (``git revert``) and that no revert
      PR above covers: from the original's landing (its PR's ``merged_at``, else its committer time)
      to the revert's landing (likewise); ``cause_sha`` = the original.

    Reverts of reverts (re-applying a change) are not incidents. Returns incidents, not stored.
    """
    incidents: list[Incident] = []
    prs = con.execute(
        "SELECT repo_id, number, title, head_branch, merged_at, merge_commit_sha, author_login, url "
        "FROM pull_requests WHERE merged_at IS NOT NULL"
    ).fetchall()
    by_number = {(r[0], r[1]): r for r in prs}
    by_title: dict[tuple[str, str], Any] = {}
    for r in sorted(prs, key=lambda r: r[4]):
        by_title.setdefault((r[0], r[2]), r)
    covered_titles: set[tuple[str, str]] = set()
    covered_prs: set[tuple[str, int]] = set()
    for repo_id, number, title, head, merged, _, author, url in prs:
        subject = _REVERT_SUBJECT.match(title or "")
        branch = _REVERT_BRANCH.match(head or "")
        if not subject and not branch:
            continue
        if (title or "").startswith('Revert "Revert'):
            continue
        original: Any = by_number.get((repo_id, int(branch[1]))) if branch else None
        if original is None and subject:
            original = by_title.get((repo_id, subject[1]))
        if original is None or original[4] > merged:
            continue
        covered_titles.add((repo_id, title))
        covered_prs.add((repo_id, number))
        incidents.append(Incident(
            source="revert", external_id=f"{repo_id}#{number}", opened_at=original[4], resolved_at=merged,
            title=title, commander="@" + author if author else None, url=url, repo_id=repo_id,
            cause_sha=original[5], text=title or "",
        ))
    commits = con.execute(
        "SELECT c.repo_id, c.sha, c.subject, c.body, c.committed_at, c.pr_number, c.author_email, p.merged_at "
        "FROM commits c LEFT JOIN pull_requests p ON p.repo_id = c.repo_id AND p.number = c.pr_number "
        "WHERE c.body LIKE '%This reverts commit %' AND NOT c.is_merge"
    ).fetchall()
    for repo_id, sha, subject, body, committed, pr_number, email, pr_merged in commits:
        if subject.startswith('Revert "Revert'):
            continue
        if (repo_id, pr_number) in covered_prs or (repo_id, subject) in covered_titles:
            continue
        match = _REVERTS_COMMIT.search(body)
        if not match:
            continue
        original = con.execute(
            "SELECT c.sha, c.committed_at, p.merged_at FROM commits c LEFT JOIN pull_requests p "
            "ON p.repo_id = c.repo_id AND p.number = c.pr_number WHERE c.repo_id = ? AND c.sha LIKE ? LIMIT 1",
            [repo_id, match[1] + "%"],
        ).fetchall()
        if not original:
            continue
        orig_sha, orig_committed, orig_merged = original[0]
        opened = orig_merged or orig_committed
        resolved = pr_merged or committed
        if resolved < opened:
            continue
        incidents.append(Incident(
            source="revert", external_id=f"{repo_id}@{sha[:12]}", opened_at=opened, resolved_at=resolved,
            title=subject, commander=email, repo_id=repo_id, cause_sha=orig_sha, text=subject,
        ))
    return incidents

