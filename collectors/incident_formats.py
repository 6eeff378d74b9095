"""Incident export files: PagerDuty, Opsgenie and incident.io exports and a generic CSV, read into
:class:`Incident` records with the line and column of every problem (docs/incidents.md "Formats").

:func:`read_file` reads CSV or JSON; the format is detected from the columns or keys (or given). The whole file
is checked first: any problem (a missing id or open time, a date that cannot be read, a resolution before the
opening, an id twice) rejects the file with :class:`IncidentFileError`. Storing is
:mod:`impactlens.collectors.incidents`'s.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from impactlens.errors import CollectionError, FileProblemsError
from impactlens.incident_store import Incident

FORMATS = ("pagerduty", "opsgenie", "incidentio", "generic")


class IncidentFileError(FileProblemsError, CollectionError):
    """An export file was rejected; ``problems`` lists each as ``'line L, column C (field): ...'``."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(path, "rejected, nothing stored", problems)

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
