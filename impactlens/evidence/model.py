"""The evidence model: records, figures, claims, sections and self-reported entries.

A :class:`Claim` is one factual sentence about a person's work in a period, the :class:`Figure` values
behind it and the :class:`Record` rows of the warehouse that prove it. A claim without records cannot
be built (``ValueError``): every sentence in a packet can be checked by following its links.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from impactlens.text import md_link, plural, safe_url

#: The six sections of a promotion packet, in the order they are shown (key, title).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("scope_and_ownership", "Scope and ownership"),
    ("technical_leadership", "Technical leadership"),
    ("mentoring", "Mentoring"),
    ("operational_excellence", "Operational excellence"),
    ("delivery_outcomes", "Delivery outcomes"),
    ("collaboration_breadth", "Collaboration breadth"),
)
SECTION_TITLES = dict(SECTIONS)

#: Kinds of warehouse record a claim may cite, and the table each resolves to.
RECORD_KINDS = {
    "pr": "pull_requests (repo_id, number)",
    "review": "reviews (repo_id, review_id)",
    "commit": "commits (repo_id, sha)",
    "document": "commit_files (repo_id, sha, path)",
    "incident": "incidents (incident_id)",
    "deployment": "deployments (deployment_id)",
    "milestone": "milestones (repo_id, number)",
    "issue": "issues (repo_id, number)",
    "codeowners": "codeowners (repo_id, path, commit_sha)",
}


@dataclass(frozen=True)
class Record:
    """One warehouse row a claim cites.

    ``kind`` is a key of :data:`RECORD_KINDS`; ``key`` identifies the row in its table: the PR or
    milestone number, the commit sha, the review id, the incident or deployment id, or for a document
    ``"<sha>:<path>"`` (the commit that added or changed it). ``label`` is what a reader sees
    ("acme/api#42", "docs/adr/0002-....md"); ``url`` the page it links to (None when the warehouse has
    no address for it, or the address is not an http(s) link: see :func:`impactlens.text.safe_url`).
    """

    kind: str
    key: str
    label: str
    repo_id: str | None = None
    url: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {self.kind!r} (known: {', '.join(RECORD_KINDS)})")
        # A javascript: or other non-http address (an incident export, a PR url) never becomes a link.
        object.__setattr__(self, "url", safe_url(self.url))

    @property
    def text(self) -> str:
        """``label (title)``, or the label alone when there is no title (plain text, not escaped)."""
        return self.label + (f" ({self.title})" if self.title and self.title != self.label else "")

    def markdown(self) -> str:
        """``[label (title)](url)``, the text escaped for Markdown; the escaped text when there is no URL."""
        return md_link(self.text, self.url)


@dataclass(frozen=True)
class Figure:
    """One number behind a claim.

    ``value`` and ``previous`` (the same figure in the previous period of equal length, None when not
    measured) are in ``unit`` ("PRs", "hours", "lines", "incidents", "share"...). ``context`` says what
    the number is relative to: the period, the team and its size, the denominator of a share.
    """

    name: str
    value: float | int | None
    unit: str
    context: str
    previous: float | int | None = None
    previous_label: str = "previous period"

    @property
    def change(self) -> float | None:
        """Relative change from ``previous`` to ``value`` (-0.65 for a 65 % fall); None if not computable."""
        if self.value is None or self.previous in (None, 0):
            return None
        return (self.value - self.previous) / self.previous

    def text(self) -> str:
        """``"9.0 hours (previous period: 26.0 hours, -65%)"``, with the unit and change; shares as percentages."""
        def show(value: float | int | None) -> str:
            if value is None:
                return "n/a (no data)"
            if self.unit == "share" and value is not None:
                return f"{value * 100:.1f}".removesuffix(".0") + "%"
            unit = plural(self.unit, 1) if value == 1 and " " not in self.unit else self.unit
            return f"{fmt_number(value)} {unit}"

        out = show(self.value)
        if self.previous is not None:
            out += f" ({self.previous_label}: {show(self.previous)}"
            change = self.change
            out += f", {change:+.0%})" if change is not None else ")"
        return out


def fmt_number(value: float | int | None) -> str:
    """A figure as text: integers plain, other numbers with one decimal, None as 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


@dataclass
class Claim:
    """A factual sentence about the person's work, its figures and the records that prove it.

    ``kind`` names the claim function that built it (e.g. ``"mentees"``); ``section`` is a key of
    :data:`SECTIONS`; ``strength`` orders claims for the STAR stubs (higher first; see
    docs/evidence.md). ``subjects`` lists the people or things the claim is about (mentee ids, document
    paths), so a rubric or a test can check them.

    Raises:
        ValueError: no records, or an unknown section.
    """

    kind: str
    section: str
    sentence: str
    figures: list[Figure]
    records: list[Record]
    strength: float = 0.0
    subjects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.section not in SECTION_TITLES:
            raise ValueError(f"unknown section {self.section!r}")
        if not self.records:
            raise ValueError(f"claim {self.kind!r} has no records: a claim must cite the data behind it")
        # one record cites one row once, whichever figure of the claim found it
        self.records = list({(r.kind, r.repo_id, r.key): r for r in self.records}.values())

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)


@dataclass(frozen=True)
class SelfReported:
    """An entry the person wrote in their brag file: never measured, always shown as self-reported.

    ``links`` are the references as written ("acme/api#42", an incident id, a URL); ``resolved`` holds
    the warehouse records the links name, when they exist.
    """

    day: date
    section: str
    text: str
    links: tuple[str, ...] = ()
    resolved: tuple[Record, ...] = ()


@dataclass
class Section:
    """One packet section: measured claims and, apart from them, self-reported entries."""

    key: str
    title: str
    claims: list[Claim] = field(default_factory=list)
    self_reported: list[SelfReported] = field(default_factory=list)
    #: Why the section may be empty: the sources it draws on that the warehouse does not hold
    #: ("no incidents (`impactlens collect incidents FILE` adds them)"); empty when all are collected.
    gap: str = ""


def to_jsonable(value: Any) -> Any:
    """Dataclasses, dates and tuples as plain JSON values (dates as ISO strings)."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
