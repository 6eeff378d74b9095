"""The brag document: dated entries a person writes about work that leaves no trace in Git.

Two formats (docs/evidence.md):

* YAML (``.yaml`` / ``.yml``): a list of entries, each ``{date, section, text, links}``.
* Markdown (``.md``): optional front matter between ``---`` lines (e.g. ``person: maya-okafor``), then
  one entry per ``## YYYY-MM-DD · section`` heading, its text below, and an optional ``Links:`` line
  (comma-separated: ``acme/api#42``, an incident id, a URL).

Entries are shown in the packet, in their section, marked as self-reported; they never count in the
rubric audit and are never mixed with measured figures. :func:`append_entry` (``impactlens note add``)
adds one entry at the end of the file without rewriting what is there.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import duckdb
import yaml

from impactlens.evidence.model import SECTION_TITLES, Record, SelfReported
from impactlens.evidence.tables import EvidenceError, repo_urls

#: Section aliases a person may write in a brag file.
ALIASES = {
    "scope": "scope_and_ownership", "ownership": "scope_and_ownership",
    "leadership": "technical_leadership", "design": "technical_leadership",
    "operations": "operational_excellence", "incidents": "operational_excellence",
    "delivery": "delivery_outcomes", "outcomes": "delivery_outcomes", "impact": "delivery_outcomes",
    "collaboration": "collaboration_breadth",
}
_HEADING = re.compile(r"^##\s+(\d{4}-\d{2}-\d{2})\s*(?:[·|:-]\s*(.+?))?\s*$")
_PR_REF = re.compile(r"^([\w.-]+/[\w.-]+)#(\d+)$")


class BragError(EvidenceError):
    """The brag file is malformed; the message names the file and the line."""


def section_key(name: str) -> str | None:
    """The section key for ``name`` (a key, a title or an alias, any case); None when unknown."""
    norm = name.strip().lower().replace(" ", "_").replace("-", "_")
    if norm in SECTION_TITLES:
        return norm
    for key, title in SECTION_TITLES.items():
        if title.lower() == name.strip().lower():
            return key
    return ALIASES.get(norm)


def _entry(source: str, line: int | None, day, section, text, links) -> SelfReported:
    where = f"{source} line {line}" if line else source  # lines count from 1; None: a new entry
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise BragError(f"{where}: date '{day}' is not YYYY-MM-DD") from None
    if not isinstance(day, date):
        raise BragError(f"{where}: every entry needs a date (YYYY-MM-DD)")
    key = section_key(str(section or ""))
    if key is None:
        raise BragError(f"{where}: unknown section '{section}' (known: {', '.join(SECTION_TITLES)})")
    if not isinstance(text, str) or not text.strip():
        raise BragError(f"{where}: the entry of {day} has no text")
    if isinstance(links, str):
        links = [links]
    if not isinstance(links, (list, tuple)) or not all(isinstance(x, (str, int)) for x in links):
        raise BragError(f"{where}: links must be a list of references")
    return SelfReported(day, key, text.strip(), tuple(str(x).strip() for x in links if str(x).strip()))


def _parse_yaml(text: str, source: str) -> list[SelfReported]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise BragError(f"{source} line {mark.line + 1 if mark else 1}: not valid YAML: {exc.problem}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise BragError(f"{source} line {root.start_mark.line + 1}: a YAML brag file is a list of entries (- date: ...)")
    out = []
    for node in root.value:
        line = node.start_mark.line + 1
        try:
            value = yaml.safe_load(yaml.serialize(node))
        except ValueError as exc:  # PyYAML builds dates eagerly: 2024-13-07 raises here
            raise BragError(f"{source} line {line}: not a valid date ({exc})") from None
        if not isinstance(value, dict):
            raise BragError(f"{source} line {line}: an entry is a mapping with date, section, text, links")
        unknown = set(value) - {"date", "section", "text", "links"}
        if unknown:
            raise BragError(f"{source} line {line}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        out.append(_entry(source, line, value.get("date"), value.get("section"), value.get("text"), value.get("links", [])))
    return out


def _parse_markdown(text: str, source: str) -> list[SelfReported]:
    lines = text.splitlines()
    start = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            raise BragError(f"{source} line 1: front matter opened with --- is never closed")
        try:
            yaml.safe_load("\n".join(lines[1:end]))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise BragError(f"{source} line {mark.line + 2 if mark else 1}: front matter is not valid YAML") from None
        except ValueError as exc:  # a date that does not exist (2024-13-01)
            raise BragError(f"{source} front matter (lines 2-{end}): not a valid date ({exc})") from None
        start = end + 1
    out = []
    current: dict | None = None

    def close() -> None:
        if current is not None:
            out.append(_entry(source, current["line"], current["date"], current["section"],
                              "\n".join(current["text"]).strip(), current["links"]))

    for i in range(start, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            close()
            match = _HEADING.match(line)
            if not match:
                raise BragError(f"{source} line {i + 1}: an entry heading is '## YYYY-MM-DD · section'")
            current = {"line": i + 1, "date": match[1], "section": match[2] or "", "text": [], "links": []}
        elif current is not None and line.lower().startswith("links:"):
            current["links"] += [x.strip() for x in line.split(":", 1)[1].split(",") if x.strip()]
        elif current is not None:
            current["text"].append(line)
    close()
    return out


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def load_brag(path: str | os.PathLike[str]) -> list[SelfReported]:
    """The entries of the brag file at ``path``, in file order.

    Raises:
        BragError: the file is missing or malformed (with the line of the problem).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BragError(f"cannot read brag file {file}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    return _parse_yaml(text, str(file)) if _is_yaml(file) else _parse_markdown(text, str(file))


def resolve_links(con: duckdb.DuckDBPyConnection, entry: SelfReported) -> SelfReported:
    """``entry`` with ``resolved``: the warehouse records its links name (``owner/repo#N`` PRs, incident
    ids, or URLs of a PR or an incident). Links that name nothing in the warehouse stay as written."""
    urls = repo_urls(con)
    found: list[Record] = []
    for link in entry.links:
        match = _PR_REF.match(link)
        rows = []
        if match:
            rows = con.execute("SELECT repo_id, number, url, title FROM pull_requests WHERE repo_id = ? AND number = ?",
                               [match[1], int(match[2])]).fetchall()
        elif link.startswith("http"):
            rows = con.execute("SELECT repo_id, number, url, title FROM pull_requests WHERE url = ?", [link]).fetchall()
        if rows:
            repo_id, number, url, title = rows[0]
            url = url or (f"{urls[repo_id]}/pull/{number}" if repo_id in urls else None)
            found.append(Record("pr", str(number), f"{repo_id}#{number}", repo_id, url, title))
            continue
        rows = con.execute(
            "SELECT incident_id, repo_id, url, title FROM incidents WHERE incident_id = ? OR external_id = ? OR url = ?",
            [link, link, link],
        ).fetchall()
        if rows:
            incident_id, repo_id, url, title = rows[0]
            found.append(Record("incident", incident_id, incident_id, repo_id, url, title))
    return SelfReported(entry.day, entry.section, entry.text, entry.links, tuple(found))


def append_entry(path: str | os.PathLike[str], day: date, section: str, text: str, links: list[str] | None = None) -> SelfReported:
    """Append one entry to the brag file at ``path`` (created if missing; format from the suffix).

    Raises:
        BragError: unknown section, empty text, or an existing file that is malformed (nothing is written).
    """
    file = Path(path)
    entry = _entry(str(file), None, day, section, text, links or [])
    before = load_brag(file) if file.exists() else []
    old = file.read_text(encoding="utf-8") if file.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    if _is_yaml(file):
        block = yaml.safe_dump([{"date": entry.day, "section": entry.section, "text": entry.text,
                                 "links": list(entry.links)}], sort_keys=False, allow_unicode=True)
    else:
        if not old:
            old = "---\n# impactlens brag document: entries are self-reported and shown as such.\n---\n"
        block = f"\n## {entry.day.isoformat()} · {entry.section}\n{entry.text}\n"
        if entry.links:
            block += f"Links: {', '.join(entry.links)}\n"
    new = old + block
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    after = _parse_yaml(new, str(file)) if _is_yaml(file) else _parse_markdown(new, str(file))
    if len(after) != len(before) + 1 or after[-1] != entry:
        tmp.unlink()
        raise BragError(f"{file}: appending would change existing entries; add the entry by hand")
    os.replace(tmp, file)
    return entry
