"""The evidence model: records, figures, claims, sections and self-reported entries.

A :class:`Claim` is one factual sentence about a person's work in a period, the :class:`Figure` values
behind it and the :class:`Record` rows of the warehouse that prove it. A claim without records cannot
be built (``ValueError``): every sentence in a packet can be checked by following its links.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from impactlens.coverage import NOUNS
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
    """One number: behind a claim, in the team review, or on a dashboard card (the one figure model).

    ``value`` and ``previous`` (the same figure in the previous period of equal length, None when not
    measured) are in ``unit`` ("PRs", "hours", "lines", "incidents", "share"...; on the dashboard also
    "count" and "gini", see :func:`format_value`). ``context`` says what the number is relative to: the
    period, the team and its size, the denominator of a share.

    The rest is for display (defaults leave a claim's figure as it was): ``label`` the reader's name of it
    (else :func:`impactlens.evidence.packet.figure_label` of ``name``); ``count``/``previous_count`` how
    many records stand behind each value (``basis`` names them, e.g. "PRs"); ``lower_is_better`` colours the
    change; ``help`` a definition; ``source`` the source of its records (a key of
    :data:`impactlens.coverage.SOURCES`) and ``comparable`` whether the previous period is covered by it as
    fully as this one (docs/metrics.md "Comparisons"), ``covered`` the share of the previous period covered;
    for a rate (unit "share"), ``events``/``previous_events`` the numerator's events behind each value
    (failed deployments; ``count``/``previous_count`` are then the denominators).
    """

    name: str
    value: float | int | None
    unit: str
    context: str = ""
    previous: float | int | None = None
    previous_label: str = "previous period"
    label: str = ""
    count: int | None = None
    previous_count: int | None = None
    basis: str = ""
    lower_is_better: bool = False
    help: str = ""
    source: str = ""
    comparable: bool = True
    covered: float | None = None
    events: int | None = None
    previous_events: int | None = None

    @property
    def change(self) -> float | None:
        """Relative change from ``previous`` to ``value`` (-0.65 for a 65 % fall); None if not computable
        or when the previous period is not covered as fully as this one (``comparable`` False)."""
        if not self.comparable or self.value is None or self.previous in (None, 0):
            return None
        return (self.value - self.previous) / abs(self.previous)  # type: ignore[operator]

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

    def shown(self, value: float | int | None = None) -> str:
        """``value`` (default the figure's) as a dashboard card shows it (:func:`format_value`)."""
        return format_value(self.value if value is None else value, self.unit)

    def uncovered(self) -> str:
        """ "vs 4 (previous period only 30% covered by pull requests: no comparison)" when the change is hidden
        for coverage, else ""."""
        if self.comparable or self.previous is None:
            return ""
        noun = NOUNS.get(self.source, "the data")
        if self.covered is None:
            return f"no {noun} collected"
        return (f"vs {self.shown(self.previous)} ({self.previous_label} only {self.covered:.0%} covered by {noun}: "
                "no comparison)")

    def behind(self) -> str:
        """What stands behind the figure, e.g. "15 merged PRs · previous period 9 PRs", or the previous value
        when there is no change to show (a dashboard card's caption)."""
        if not self.comparable and self.covered is None and self.source:  # the source was never collected
            return f"no {NOUNS.get(self.source, 'data')} collected"
        parts = []
        if self.count is not None:
            text = f"{self.count} {plural(self.basis, self.count)}".strip()
            if self.previous_count is not None and self.previous is not None and self.comparable:
                text += f" (previous: {self.previous_count})"
            parts.append(text)
        if self.previous is None:
            parts.append(f"no value in the {self.previous_label}")
        elif not self.comparable:
            parts.append(self.uncovered())
        elif self.change is None:
            parts.append(f"{self.previous_label}: {self.shown(self.previous)}")
        return " · ".join(parts)


#: Figure fields for display only: left out of the JSON when they hold their defaults.
_DISPLAY_DEFAULTS = {"label": "", "count": None, "previous_count": None, "basis": "", "lower_is_better": False,
                     "help": "", "source": "", "comparable": True, "covered": None, "events": None,
                     "previous_events": None}


def format_value(value: float | int | None, unit: str) -> str:
    """``value`` for a dashboard card: hours as "5.2 h" or "3.1 d", counts as integers, shares as percentages."""
    if value is None:
        return "–"
    if unit == "hours":
        return f"{value / 24:.1f} d" if value >= 72 else f"{value:.1f} h"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "lines":
        return f"{value:,.0f} lines"
    if unit == "gini":
        return f"{value:.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


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
    if isinstance(value, Figure):  # display fields only when set
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)
                if f.name not in _DISPLAY_DEFAULTS or getattr(value, f.name) != _DISPLAY_DEFAULTS[f.name]}
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
