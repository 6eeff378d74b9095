"""The rubric: a ladder's expectations, each naming the claims or figures that evidence it, and the audit.

A rubric is a YAML file (format in docs/evidence.md; the default is ``rubric_default.yaml`` beside this
module). :func:`load_rubric` validates it node by node and rejects a malformed file with the line of the
problem; :func:`audit` says for each expectation whether the data shows it: ``evidenced`` (with the
claims), ``partly`` or ``no evidence in the data``, and what kind of work would close the gap.
"""

from __future__ import annotations

import functools

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from impactlens.evidence.claims import CLAIM_FUNCTIONS, FIGURES, known_figure
from impactlens.evidence.model import SECTION_TITLES, Claim
from impactlens.evidence.tables import EvidenceError

EVIDENCED, PARTLY, NO_EVIDENCE = "evidenced", "partly", "no evidence in the data"
#: An expectation whose evidence needs a source the warehouse does not hold (no PR data, no incidents).
NOT_JUDGED = "not judged"


class RubricError(EvidenceError):
    """The rubric file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Condition:
    """``claim: kind`` (at least ``at_least`` claims of that kind, default 1) or ``figure: name`` (the sum
    of that figure over all claims is at least ``at_least`` and at most ``at_most``)."""

    claim: str | None = None
    figure: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def value(self, claims: list[Claim]) -> float | None:
        """The measured value: number of claims of the kind, or the figure's sum (None: not in the data)."""
        if self.claim is not None:
            return float(sum(1 for c in claims if c.kind == self.claim))
        values = [f.value for c in claims for f in c.figures if f.name == self.figure and f.value is not None]
        return float(sum(values)) if values else None

    def holds(self, claims: list[Claim]) -> bool:
        value = self.value(claims)
        if value is None:
            return False
        low = self.at_least if self.at_least is not None else (1 if self.claim or self.at_most is None else None)
        if low is not None and value < low:
            return False
        return self.at_most is None or value <= self.at_most

    def some(self, claims: list[Claim]) -> bool:
        """Some evidence of this kind exists, whatever the threshold (a count above zero)."""
        value = self.value(claims)
        return value is not None and value > 0

    def claims_for(self, claims: list[Claim]) -> list[Claim]:
        if self.claim is not None:
            return [c for c in claims if c.kind == self.claim]
        return [c for c in claims if any(f.name == self.figure for f in c.figures)]

    def describe(self) -> str:
        what = f"claim {self.claim}" if self.claim else f"figure {self.figure}"
        bounds = []
        if self.at_least is not None:
            bounds.append(f">= {self.at_least:g}")
        if self.at_most is not None:
            bounds.append(f"<= {self.at_most:g}")
        return what + (" " + " and ".join(bounds) if bounds else "")


@dataclass(frozen=True)
class Expectation:
    """One rubric line: ``evidence`` conditions (all must hold, or any with ``match='any'``), optional
    ``partly`` conditions, and ``close_with``: the kind of work that would close a gap."""

    id: str
    title: str
    section: str
    evidence: tuple[Condition, ...]
    partly: tuple[Condition, ...] = ()
    match: str = "all"
    close_with: str = ""


@dataclass(frozen=True)
class Rubric:
    name: str
    expectations: tuple[Expectation, ...]
    source: str = "default"


@dataclass
class AuditItem:
    """The audit of one expectation: ``status`` is EVIDENCED, PARTLY, NO_EVIDENCE or NOT_JUDGED; ``claims`` the
    claims that evidence it; ``measured`` each condition with its value; ``close_with`` the advice."""

    id: str
    title: str
    section: str
    status: str
    measured: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    close_with: str = ""


# ------------------------------------------------------------------------------------------ loading


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node, message: str) -> RubricError:
        return RubricError(f"{self.source} line {_line(node)}: {message}")

    def mapping(self, node: yaml.Node, what: str, allowed: set[str], required: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping (key: value lines)")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in allowed:
                raise self.fail(key, f"unknown key '{name}' in {what} (known: {', '.join(sorted(allowed))})")
            if name in out:
                raise self.fail(key, f"key '{name}' appears twice in {what}")
            out[name] = value
        missing = sorted(required - set(out))
        if missing:
            raise self.fail(node, f"{what} lacks {', '.join(missing)}")
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str" or not node.value.strip():
            raise self.fail(node, f"{what} must be a non-empty text")
        return node.value

    def number(self, node: yaml.Node, what: str) -> float:
        if isinstance(node, yaml.ScalarNode) and node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            return float(yaml.safe_load(node.value))
        raise self.fail(node, f"{what} must be a number")

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, f"{what} must be a non-empty list")
        return node.value

    def condition(self, node: yaml.Node, where: str) -> Condition:
        keys = self.mapping(node, f"a condition of {where}", {"claim", "figure", "at_least", "at_most"}, set())
        if ("claim" in keys) == ("figure" in keys):
            raise self.fail(node, f"a condition of {where} names exactly one of claim or figure")
        claim = figure = None
        if "claim" in keys:
            claim = self.text(keys["claim"], "claim")
            if claim not in CLAIM_FUNCTIONS:
                raise self.fail(keys["claim"], f"unknown claim '{claim}' (known: {', '.join(CLAIM_FUNCTIONS)})")
        else:
            figure = self.text(keys["figure"], "figure")
            if not known_figure(figure):
                raise self.fail(keys["figure"], f"unknown figure '{figure}' (known: {', '.join(FIGURES)})")
        return Condition(
            claim=claim, figure=figure,
            at_least=self.number(keys["at_least"], "at_least") if "at_least" in keys else None,
            at_most=self.number(keys["at_most"], "at_most") if "at_most" in keys else None,
        )

    def expectation(self, node: yaml.Node) -> Expectation:
        keys = self.mapping(node, "an expectation", {"id", "title", "section", "evidence", "partly", "match",
                                                     "close_with"}, {"id", "title", "section", "evidence"})
        ident = self.text(keys["id"], "id")
        section = self.text(keys["section"], "section")
        if section not in SECTION_TITLES:
            raise self.fail(keys["section"], f"unknown section '{section}' (known: {', '.join(SECTION_TITLES)})")
        match = self.text(keys["match"], "match") if "match" in keys else "all"
        if match not in ("all", "any"):
            raise self.fail(keys["match"], "match must be 'all' or 'any'")
        where = f"expectation '{ident}'"
        return Expectation(
            id=ident, title=self.text(keys["title"], "title"), section=section,
            evidence=tuple(self.condition(c, where) for c in self.sequence(keys["evidence"], "evidence")),
            partly=tuple(self.condition(c, where) for c in self.sequence(keys["partly"], "partly")) if "partly" in keys else (),
            match=match,
            close_with=self.text(keys["close_with"], "close_with") if "close_with" in keys else "",
        )


def parse_rubric(text: str, source: str = "rubric") -> Rubric:
    """Parse and validate rubric YAML ``text``. The same text parses once per process (a :class:`Rubric` is
    immutable; the dashboard builds a packet per person and period: 0.05 s of YAML each time).

    Raises:
        RubricError: invalid YAML, an unknown key, section, claim or figure, a missing or mistyped value,
            or a duplicate expectation id; the message is ``"<source> line N: <problem>"``.
    """
    return _parse_rubric(text, source)


@functools.lru_cache(maxsize=16)
def _parse_rubric(text: str, source: str) -> Rubric:
    reader = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise RubricError(f"{source}{line}: not valid YAML: {exc.problem or exc.context}") from None
    if root is None:
        raise RubricError(f"{source} line 1: the rubric is empty")
    keys = reader.mapping(root, "the rubric", {"name", "expectations"}, {"expectations"})
    expectations = [reader.expectation(n) for n in reader.sequence(keys["expectations"], "expectations")]
    seen: set[str] = set()
    for node, exp in zip(keys["expectations"].value, expectations):
        if exp.id in seen:
            raise reader.fail(node, f"expectation id '{exp.id}' appears twice")
        seen.add(exp.id)
    name = reader.text(keys["name"], "name") if "name" in keys else source
    return Rubric(name, tuple(expectations), source)


def load_rubric(path: str | os.PathLike[str] | None = None) -> Rubric:
    """The rubric in ``path``, or the default one shipped with impactlens.

    Raises:
        RubricError: the file is missing, unreadable or malformed (with its line).
    """
    if path is None:
        text = resources.files("impactlens.evidence").joinpath("rubric_default.yaml").read_text(encoding="utf-8")
        return parse_rubric(text, "default rubric")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"cannot read rubric {file}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    return parse_rubric(text, str(file))


# ------------------------------------------------------------------------------------------ audit


def audit(rubric: Rubric, claims: list[Claim], missing: dict[str, str] | None = None) -> list[AuditItem]:
    """Audit ``claims`` against each expectation of ``rubric``, in the rubric's order.

    evidenced: every ``evidence`` condition holds (any one with ``match: any``); partly: not evidenced,
    but some evidence condition has a value above zero or a ``partly`` condition holds; otherwise
    "no evidence in the data". Self-reported entries never count (they are not measured).

    ``missing`` maps a claim or figure name to the reason it cannot be measured ("no pull requests"):
    a source the warehouse does not hold. Such a condition is shown as "not judged (reason)"; an
    expectation not evidenced while one of its evidence conditions cannot be measured is NOT_JUDGED
    (absence of a source is not absence of the work), or PARTLY when some evidence exists.
    """
    missing = missing or {}
    items = []
    for exp in rubric.expectations:
        results = [c.holds(claims) for c in exp.evidence]
        met = all(results) if exp.match == "all" else any(results)
        measured = []
        for cond in (*exp.evidence, *exp.partly):
            value = cond.value(claims)
            reason = missing.get(cond.claim or cond.figure or "")
            if reason and not value:
                measured.append(f"{cond.describe()}: not judged ({reason})")
            else:
                measured.append(f"{cond.describe()}: {'not in the data' if value is None else f'{value:g}'}")
        unjudged = any(missing.get(c.claim or c.figure or "") for c in exp.evidence)
        if met:
            status = EVIDENCED
            used = [c for cond, ok in zip(exp.evidence, results) if ok for c in cond.claims_for(claims)]
        elif any(c.some(claims) for c in exp.evidence) or any(c.holds(claims) for c in exp.partly):
            status = PARTLY
            used = [c for cond in (*exp.evidence, *exp.partly) if cond.some(claims) for c in cond.claims_for(claims)]
        elif unjudged:
            status, used = NOT_JUDGED, []
        else:
            status, used = NO_EVIDENCE, []
        unique = list({id(c): c for c in used}.values())
        items.append(AuditItem(exp.id, exp.title, exp.section, status, measured, unique, exp.close_with))
    return items
