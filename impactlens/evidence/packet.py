"""The promotion packet: summary, sections with claims and links, rubric audit, STAR stubs and charts.

The one entry point for the CLI and the dashboard::

    packet = build_packet(con, "maya-okafor", date(2026, 1, 1), date(2026, 6, 30), rubric=None, brag=None)
    packet.to_markdown(); packet.to_html(); packet.to_json()
    packet.write(Path("maya.md"), "md")   # also writes the charts as PNG beside it

HTML embeds the charts as inline SVG rendered by vl-convert (no network, no JavaScript). Layout and
wording: docs/evidence.md.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable

import altair as alt
import duckdb
import polars as pl

from impactlens import coverage as coverage_mod
from impactlens.config import Config
from impactlens.evidence import claims as claims_mod
from impactlens.evidence.brag import load_brag, resolve_links
from impactlens.evidence.claims import Subject
from impactlens.evidence.model import SECTIONS, Claim, Record, Section, SelfReported, fmt_number, to_jsonable
from impactlens.evidence.rubric import EVIDENCED, NO_EVIDENCE, NOT_JUDGED, PARTLY, AuditItem, Rubric, audit, load_rubric
from impactlens.evidence.tables import EvidenceError, resolve_person
from impactlens.metrics import Frames, Scope, throughput
from impactlens.text import md_link, md_text, safe_url

#: Records listed under a claim in Markdown and HTML (all of them are in the JSON packet).
RECORDS_SHOWN = 12
FORMATS = ("md", "html", "json")


@dataclass
class StarStub:
    """A STAR-shaped stub for one strong claim: situation, task and action for the person to write,
    the result filled from the data."""

    claim_kind: str
    situation: str
    task: str
    action: str
    result: str
    records: list[Record] = field(default_factory=list)


@dataclass
class Chart:
    """A chart of the packet: ``name`` (file-name safe), ``title`` and its Vega-Lite ``spec`` (dict)."""

    name: str
    title: str
    spec: dict[str, Any]

    def svg(self) -> str:
        import vl_convert as vlc

        return vlc.vegalite_to_svg(self.spec)

    def png(self) -> bytes:
        import vl_convert as vlc

        return vlc.vegalite_to_png(self.spec, scale=2)


@dataclass
class Packet:
    """A person's evidence for a period. Build it with :func:`build_packet`."""

    person_id: str
    name: str
    since: date
    until: date
    context: str
    summary: str
    sections: list[Section]
    rubric_name: str
    audit: list[AuditItem]
    star: list[StarStub]
    charts: list[Chart]
    title: str | None = None
    level: str | None = None
    #: What the packet is built from ("commits of flask") and one sentence per missing source with the
    #: command that adds it (impactlens.coverage).
    sources_text: str = "Git, GitHub and incident data"
    coverage: list[str] = field(default_factory=list)

    # -- content ----------------------------------------------------------------------------------
    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sections for c in s.claims]

    def records(self) -> list[Record]:
        """Every record cited by a claim, a STAR stub or a resolved self-reported link (duplicates kept once)."""
        out: dict[tuple[str, str | None, str], Record] = {}
        for rec in [r for c in self.claims for r in c.records] + [r for s in self.sections
                                                                 for e in s.self_reported for r in e.resolved]:
            out.setdefault((rec.kind, rec.repo_id, rec.key), rec)
        return list(out.values())

    # -- Markdown ---------------------------------------------------------------------------------
    # One rendering: to_markdown joins these parts, and the dashboard's Promotion case page shows the same
    # parts one by one (labels, never figure keys; the rubric's full text).
    def coverage_markdown(self) -> list[str]:
        """Lines of the Data coverage part: what the packet is built from, then each missing source."""
        # Our own sentences (sources, repository ids, commands in backticks), not free text from the data.
        return [f"Built from {self.sources_text}."] + ([""] + [f"- {line}" for line in self.coverage] if self.coverage else [])

    def section_markdown(self, section: Section, more_in: str = "all in the JSON packet") -> list[str]:
        """Lines of one section (without its heading): claims with labelled figures and records, the note when it
        has no claim, and self-reported entries apart."""
        m = md_text  # every text from the data is escaped: no raw HTML, no links but the records'
        out: list[str] = []
        if not section.claims:
            out += [_no_claim(section)]
        for claim in section.claims:
            out += [f"- {m(claim.sentence)}"]
            for fig in claim.figures:
                out += [f"  - {m(figure_label(fig.name))}: {m(fig.text())} ({m(fig.context)})"]
            shown = claim.records[:RECORDS_SHOWN]
            more = len(claim.records) - len(shown)
            out += ["  - Records: " + ", ".join(r.markdown() for r in shown)
                    + (f", and {more} more ({more_in})" if more > 0 else "")]
        if section.self_reported:
            out += ["", "**Self-reported** (written by the person, not measured):", ""]
            for entry in section.self_reported:
                out += [f"- *Self-reported, {entry.day}:* {m(entry.text)}" + _links_md(entry)]
        return out

    def audit_markdown(self) -> list[str]:
        """The rubric audit as a Markdown table (every expectation, status, measured conditions, the gap)."""
        out = ["| Expectation | Status | Evidence | To close the gap |", "|---|---|---|---|"]
        for item in self.audit:
            evidence = "; ".join(item.measured)
            gap = "" if item.status == EVIDENCED else item.close_with
            out += [f"| {_cell(item.title)} | {item.status} | {_cell(evidence)} | {_cell(gap)} |"]
        return out

    def star_markdown(self, stub: StarStub) -> list[str]:
        """One STAR stub's lines (without its heading)."""
        m = md_text
        return [f"- **Situation:** {m(stub.situation)}", f"- **Task:** {m(stub.task)}", f"- **Action:** {m(stub.action)}",
                f"- **Result (from the data):** {m(stub.result)}",
                "- **Records:** " + ", ".join(r.markdown() for r in stub.records[:5])]

    def to_markdown(self, chart_files: dict[str, str] | None = None) -> str:
        """The packet as Markdown. ``chart_files`` maps chart names to image paths to reference (as
        :meth:`write` saves them); without it, charts are left out of the Markdown."""
        who = ", ".join(x for x in (self.title, self.level) if x)
        m = md_text  # every text from the data is escaped: no raw HTML, no links but the records'
        out = [f"# Evidence packet: {m(self.name)}" + (f" ({m(who)})" if who else ""), "",
               f"*{m(self.context)}.*", "", "## Summary", "",
               m(self.summary), ""]
        out += ["## Data coverage", ""] + self.coverage_markdown() + [""]
        for chart in self.charts:
            if chart_files and chart.name in chart_files:
                out += [f"![{m(chart.title)}]({file_link(chart_files[chart.name])})", ""]
        for section in self.sections:
            out += [f"## {m(section.title)}", ""] + self.section_markdown(section) + [""]
        out += [f"## Rubric audit: {m(self.rubric_name)}", ""] + self.audit_markdown()
        out += ["", "## STAR stubs for the strongest claims", "",
                "*Situation, task and action are for the person to write; the result comes from the data.*", ""]
        for i, stub in enumerate(self.star, 1):
            out += [f"### {i}. {m(figure_label(stub.claim_kind))}", ""] + self.star_markdown(stub) + [""]
        out += ["---", f"*Generated by impactlens from {self.sources_text}. The figures describe recorded "
                "activity in the period, not a person's worth; work that leaves no trace in these systems is "
                "missing unless self-reported.*", ""]
        return "\n".join(out)

    # -- HTML -------------------------------------------------------------------------------------
    def to_html(self) -> str:
        """The packet as one self-contained HTML page, charts embedded as SVG (vl-convert, offline)."""
        e = html.escape
        who = ", ".join(x for x in (self.title, self.level) if x)
        parts = [f"<h1>Evidence packet: {e(self.name)}{' (' + e(who) + ')' if who else ''}</h1>",
                 f"<p class='meta'>{e(self.context)}.</p>",
                 "<h2>Summary</h2>", f"<p>{e(self.summary)}</p>",
                 "<h2>Data coverage</h2>", f"<p>Built from {e(self.sources_text)}.</p>"]
        if self.coverage:
            parts.append("<ul class='coverage'>" + "".join(f"<li>{e(line)}</li>" for line in self.coverage) + "</ul>")
        for chart in self.charts:
            parts.append(f"<figure class='chart' id='chart-{e(chart.name)}'>{chart.svg()}"
                         f"<figcaption>{e(chart.title)}</figcaption></figure>")
        for section in self.sections:
            parts.append(f"<h2>{e(section.title)}</h2>")
            if not section.claims:
                parts.append(f"<p class='none'>{e(_no_claim(section))}</p>")
            items = []
            for claim in section.claims:
                figs = "".join(f"<li>{e(figure_label(f.name))}: {e(f.text())} <span class='ctx'>({e(f.context)})</span></li>"
                               for f in claim.figures)
                shown = claim.records[:RECORDS_SHOWN]
                more = len(claim.records) - len(shown)
                recs = ", ".join(record_html(r) for r in shown) + (
                    f", and {more} more (all in the JSON packet)" if more > 0 else "")
                items.append(f"<li class='claim'><p>{e(claim.sentence)}</p><ul>{figs}<li>Records: {recs}</li></ul></li>")
            if items:
                parts.append("<ul class='claims'>" + "".join(items) + "</ul>")
            if section.self_reported:
                rows = "".join(
                    f"<li><span class='badge'>Self-reported</span> {entry.day}: {e(entry.text)}{_links_html(entry)}</li>"
                    for entry in section.self_reported)
                parts.append(f"<div class='self'><p><strong>Self-reported</strong> (written by the person, not "
                             f"measured)</p><ul>{rows}</ul></div>")
        parts.append(f"<h2>Rubric audit: {e(self.rubric_name)}</h2>")
        rows = "".join(
            f"<tr class='{item.status.replace(' ', '-')}'><td>{e(item.title)}</td><td>{e(item.status)}</td>"
            f"<td>{e('; '.join(item.measured))}</td><td>{'' if item.status == EVIDENCED else e(item.close_with)}</td></tr>"
            for item in self.audit)
        parts.append("<table><tr><th>Expectation</th><th>Status</th><th>Evidence</th><th>To close the gap</th></tr>"
                     f"{rows}</table>")
        parts.append("<h2>STAR stubs for the strongest claims</h2><p class='meta'>Situation, task and action are for "
                     "the person to write; the result comes from the data.</p>")
        for i, stub in enumerate(self.star, 1):
            recs = ", ".join(record_html(r) for r in stub.records[:5])
            parts.append(f"<h3>{i}. {e(figure_label(stub.claim_kind))}</h3><ul><li><b>Situation:</b> {e(stub.situation)}</li>"
                         f"<li><b>Task:</b> {e(stub.task)}</li><li><b>Action:</b> {e(stub.action)}</li>"
                         f"<li><b>Result (from the data):</b> {e(stub.result)}</li><li><b>Records:</b> {recs}</li></ul>")
        parts.append(f"<p class='meta'>Generated by impactlens from {e(self.sources_text)}. The figures describe "
                     "recorded activity in the period, not a person's worth.</p>")
        return html_page(f"Evidence packet: {self.name}", "\n".join(parts))

    # -- JSON -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = to_jsonable({k: v for k, v in self.__dict__.items() if k != "charts"})
        data["charts"] = [{"name": c.name, "title": c.title, "vega_lite": c.spec} for c in self.charts]
        return data

    def to_json(self) -> str:
        """The whole packet as JSON (every record of every claim, charts as Vega-Lite specs)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    # -- files ------------------------------------------------------------------------------------
    def write(self, path: str | os.PathLike[str], fmt: str) -> list[Path]:
        """Write the packet to ``path`` in ``fmt`` (md, html, json); Markdown also gets its charts as PNG
        files beside it (``<stem>-<chart>.png``). Returns the files written."""
        return write_document(self, Path(path), fmt)


def write_document(doc: Any, path: Path, fmt: str) -> list[Path]:
    """Write a packet or team review (anything with to_markdown/to_html/to_json and charts) to ``path``.

    Raises:
        EvidenceError: unknown format or an unwritable path.
    """
    if fmt not in FORMATS:
        raise EvidenceError(f"unknown format '{fmt}' (use one of {', '.join(FORMATS)}).")
    written: list[Path] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "md":
            files = {}
            for chart in doc.charts:
                png = path.with_name(f"{path.stem}-{chart.name}.png")
                png.write_bytes(chart.png())
                files[chart.name] = png.name
                written.append(png)
            path.write_text(doc.to_markdown(files), encoding="utf-8")
        else:
            path.write_text(doc.to_html() if fmt == "html" else doc.to_json(), encoding="utf-8")
    except OSError as exc:
        raise EvidenceError(f"cannot write {path}: {exc.strerror}") from None
    return [path, *written]


# ---------------------------------------------------------------------------------------------- helpers


_WORDS = {"prs": "PRs", "pr": "PR", "adrs": "ADRs", "mttr": "MTTR", "dora": "DORA"}


def figure_label(name: str) -> str:
    """The reader's label of a figure or claim kind: ``"prs_merged"`` -> ``"PRs merged"``,
    ``"touchpoints:leo-park"`` -> ``"Touchpoints (leo-park)"``, ``"share_of_lines:acme/api:src/"`` ->
    ``"Share of lines (src/ of acme/api)"``."""
    if name in claims_mod.DELIVERY_LABELS:
        return claims_mod.DELIVERY_LABELS[name]
    base, _, key = name.partition(":")
    if base == "share_of_lines" and ":" in key:  # "acme/api:src/app/" -> "src/app/ of acme/api"
        repo, _, folder = key.partition(":")
        key = f"top-level files of {repo}" if folder == "./" else f"{folder} of {repo}"
    words = [_WORDS.get(w, w) for w in base.split("_")]
    label = " ".join(words)
    label = label[0].upper() + label[1:] if label else label
    return f"{label} ({key})" if key else label


def _cell(text: str) -> str:
    """A Markdown table cell of the rubric audit (its own text and the rubric file's): one line, ``|`` escaped,
    raw HTML shown as text; figure names keep their underscores (intraword, no emphasis in GFM)."""
    value = " ".join(str(text).split())
    return value.replace("<", "&lt;").replace("|", "\\|")  # no "<": no tag, no comment


def file_link(name: str) -> str:
    """A chart file name beside the Markdown, as a relative link target."""
    return name.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def record_html(rec: Record) -> str:
    """A record as an HTML link (only http(s) URLs: :class:`Record` drops others) or a span."""
    label = html.escape(rec.label)
    title = f" title='{html.escape(rec.title, quote=True)}'" if rec.title else ""
    url = safe_url(rec.url)
    return f"<a href='{html.escape(url, quote=True)}'{title}>{label}</a>" if url else f"<span{title}>{label}</span>"


def _links_md(entry: SelfReported) -> str:
    if not entry.links:
        return ""
    resolved = ", ".join(r.markdown() for r in entry.resolved)
    named = {r.label for r in entry.resolved} | {r.key for r in entry.resolved}
    rest = [x for x in entry.links if x not in named and not any(r.url == x for r in entry.resolved)]
    return " Links: " + ", ".join(filter(None, [resolved, ", ".join(md_link(x, x) for x in rest)]))


def _links_html(entry: SelfReported) -> str:
    if not entry.links:
        return ""
    resolved = [record_html(r) for r in entry.resolved]
    named = {r.label for r in entry.resolved} | {r.key for r in entry.resolved} | {r.url for r in entry.resolved}
    rest = [html.escape(x) for x in entry.links if x not in named]
    return " — links: " + ", ".join(resolved + rest)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}.meta,.ctx{color:#666}
.claims>li{margin-bottom:.8rem}.self{background:#fff8e6;border-left:4px solid #e0a800;padding:.3rem 1rem}
.badge{background:#e0a800;color:#fff;border-radius:3px;padding:0 .3rem;font-size:.8rem}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.3rem;vertical-align:top;text-align:left}
tr.evidenced td:nth-child(2){color:#1a7f37}tr.partly td:nth-child(2){color:#9a6700}
tr.no-evidence-in-the-data td:nth-child(2){color:#cf222e}figure.chart{margin:1rem 0}figure svg{max-width:100%;height:auto}"""


def html_page(title: str, body: str) -> str:
    """A standalone HTML document titled ``title`` around ``body`` (HTML), with the packets' style sheet."""
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


# ---------------------------------------------------------------------------------------------- building


def _no_claim(section: Section) -> str:
    if section.gap:
        return f"No claim. Not fully judged: {section.gap}."
    return "No claim: the data shows nothing of this kind in the period."


def _sections(claims: list[Claim], brag: Iterable[SelfReported], since: date, until: date) -> list[Section]:
    sections = [Section(key, title) for key, title in SECTIONS]
    by_key = {s.key: s for s in sections}
    for claim in claims:
        by_key[claim.section].claims.append(claim)
    for entry in sorted(brag, key=lambda e: e.day):
        if since <= entry.day <= until:
            by_key[entry.section].self_reported.append(entry)
    return sections


def _star(claims: list[Claim]) -> list[StarStub]:
    """Stubs for the three strongest claims (highest ``strength``, one per kind of claim)."""
    chosen: list[Claim] = []
    for claim in sorted(claims, key=lambda c: -c.strength):
        if claim.kind not in {c.kind for c in chosen}:
            chosen.append(claim)
        if len(chosen) == 3:
            break
    stubs = []
    for claim in chosen:
        context = f"(Context: {claim.figures[0].context}.)" if claim.figures else ""
        stubs.append(StarStub(
            claim.kind,
            situation="(to write: the context — the team, the system, the problem and why it mattered)",
            task="(to write: what you were responsible for)",
            action="(to write: what you did and decided; the records below show the work)",
            result=f"{claim.sentence} {context}".strip(),
            records=claim.records[:5],
        ))
    return stubs


def activity_chart(s: Subject) -> Chart | None:
    """Weekly counts of the person's activity in the period, one line per collected source: commits landed
    (git; non-merge, author date), merged PRs and reviews given (metrics.throughput; only when PRs and reviews
    were collected). Weeks without activity count as zero; None when there is nothing to draw."""
    first = s.since - timedelta(days=s.since.weekday())
    weeks = pl.DataFrame({"week": pl.date_range(first, s.until, interval="1w", eager=True)})
    series = []
    if "git" in s.sources:
        commits = (s.commits.filter((pl.col("author_key") == s.person_id) & ~pl.col("is_merge") & s.in_period("authored_at"))
                   .group_by(pl.col("authored_at").dt.truncate("1w").dt.date().alias("week"))
                   .agg(pl.len().cast(pl.Int64).alias("Commits landed")))
        series.append(commits)
    if "pull_requests" in s.sources:
        weekly = throughput(s.frames, Scope(person=s.person_id, start=s.start, end=s.end), by=None, grain="week").collect()
        columns = [pl.col("prs_merged").cast(pl.Int64).alias("PRs merged")]
        if "reviews" in s.sources:
            columns.append(pl.col("reviews_given").cast(pl.Int64).alias("Reviews given"))
        series.append(weekly.select(pl.col("period_start").dt.date().alias("week"), *columns))
    if not series or all(frame.is_empty() for frame in series):
        return None
    wide = weeks
    for frame in series:
        wide = wide.join(frame, on="week", how="left")
    long = wide.fill_null(0).unpivot(index="week", variable_name="figure", value_name="count")
    values = long.with_columns(pl.col("week").cast(pl.String)).to_dicts()
    shown = [n if n.startswith("PR") else n.lower() for n in long["figure"].unique(maintain_order=True)]
    names = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    chart = alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
        x=alt.X("week:T", title="Week (UTC)"), y=alt.Y("count:Q", title="Count per week", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("figure:N", title=None),
    ).properties(width=560, height=220, title=f"{s.name}: weekly activity, {s.period_text}")
    return Chart("activity", f"Weekly {names}, {s.period_text}", chart.to_dict())


def delivery_chart(claims: list[Claim], s: Subject) -> Chart | None:
    """The person's delivery medians, this period beside the previous one (from the delivery claim); each
    figure on its own scale."""
    claim = next((c for c in claims if c.kind == "delivery_figures"), None)
    if claim is None:
        return None
    rows = []
    for fig in claim.figures:
        if fig.name in claims_mod.DELIVERY_LABELS:
            for label, value in (("previous period", fig.previous), ("this period", fig.value)):
                if value is not None:
                    rows.append({"figure": f"{claims_mod.DELIVERY_LABELS[fig.name]} ({fig.unit})", "period": label,
                                 "value": value})
    if not rows:
        return None
    order = ["previous period", "this period"]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("period:N", title=None, sort=order), x=alt.X("value:Q", title=None),
        color=alt.Color("period:N", title=None, sort=order),
        row=alt.Row("figure:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
    ).properties(width=420, height=40, title=f"{s.name}: delivery medians of own merged PRs").resolve_scale(x="independent")
    return Chart("delivery", "Delivery medians: this period and the previous one of equal length", chart.to_dict())


def _summary(s: Subject, claims: list[Claim], audit: list[AuditItem], rubric: Rubric) -> str:
    """The packet's opening paragraph: only facts whose source the warehouse holds (no "merged 0 PRs" when
    no PR was ever collected), then the rubric's counts, unjudged lines apart."""
    def fig(kind: str, name: str) -> float:
        return sum(f.value or 0 for c in claims if c.kind == kind for f in c.figures if f.name == name)

    facts = []
    if "git" in s.sources:
        facts.append(f"landed {fmt_number(fig('commits_landed', 'commits_landed'))} commits")
    if "pull_requests" in s.sources:
        facts.append(f"merged {fmt_number(fig('delivery_figures', 'prs_merged'))} PRs")
    if "reviews" in s.sources:
        reviews = s.reviews.filter((pl.col("reviewer_key") == s.person_id) & s.in_period("submitted_at")).height
        facts.append(f"gave {reviews:,} reviews on others' PRs")
    if "git" in s.sources:
        docs = fig("adrs_authored", "adrs_authored") + fig("design_docs_authored", "design_docs_authored")
        facts.append(f"added {fmt_number(docs)} ADRs or design docs")
    if "incidents" in s.sources:
        facts.append(f"led {fmt_number(fig('incidents_led', 'incidents_led'))} incident responses")
    if "reviews" in s.sources:
        facts.append(f"had mentoring touchpoints with {fmt_number(fig('mentees', 'mentees'))} mentees")
    teams = "; ".join(f"team {name}, {size} engineers" for _, name, size in s.teams) or "no team recorded"
    who = "; ".join(x for x in (s.profile.get("title"), teams) if x)
    counts = {status: sum(1 for i in audit if i.status == status)
              for status in (EVIDENCED, PARTLY, NO_EVIDENCE, NOT_JUDGED)}
    listed = (", ".join(facts[:-1]) + f" and {facts[-1]}") if len(facts) > 1 else (facts[0] if facts else "has no recorded activity")
    unjudged = (f", and {counts[NOT_JUDGED]} {'is' if counts[NOT_JUDGED] == 1 else 'are'} not judged (their sources "
                "are not collected; see Data coverage)") if counts[NOT_JUDGED] else ""
    return (f"Between {s.since} and {s.until} the data from {_sources_text(s)} shows that {s.name}"
            f"{' (' + who + ')' if who else ''} {listed}. "
            f"Of the {len(audit)} expectations of the rubric \u201c{rubric.name}\u201d, {counts[EVIDENCED]} are evidenced "
            f"in the data, {counts[PARTLY]} partly, {counts[NO_EVIDENCE]} "
            f"{'has' if counts[NO_EVIDENCE] == 1 else 'have'} no evidence in the data{unjudged}. "
            "The figures describe recorded activity, not a person's worth; self-reported entries are listed apart.")


#: How the packet names each source it was built from.
_SOURCE_WORDS = {"git": "Git commits", "pull_requests": "GitHub pull requests", "reviews": "reviews",
                 "issues": "issues", "incidents": "incidents", "deployments": "deployments"}


def _sources_text(s: Subject) -> str:
    """``"Git commits of flask"``, ``"Git commits, GitHub pull requests, reviews and incidents of acme/api and acme/web"``."""
    words = [w for src, w in _SOURCE_WORDS.items() if src in s.sources and src != "issues"]
    if not words:
        return "no collected source"
    listed = ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else words[0]
    repos = s.repos if len(s.repos) <= 3 else s.repos[:3] + [f"{len(s.repos) - 3} more"]
    return f"{listed} of {', '.join(repos[:-1]) + ' and ' + repos[-1] if len(repos) > 1 else repos[0]}"


def _coverage_lines(s: Subject) -> list[str]:
    """Missing sources (with the command that adds each) and sources that cover only part of the period."""
    lines = list(s.missing_sources)
    for (repo, source), first in sorted(coverage_mod.incomplete_before(s.con).items()):
        if repo in s.repos and first > s.start:
            text = "none of the period" if first >= s.end else f"the period only from {first:%Y-%m-%d}"
            lines.append(f"The {coverage_mod.NOUNS[source]} of {repo} cover {text}: the history collected starts "
                         "part-way, so figures before then are unknown, not zero.")
    return lines


def build_packet(
    con: duckdb.DuckDBPyConnection,
    person: str,
    since: date,
    until: date,
    rubric: Rubric | str | os.PathLike[str] | None = None,
    brag: list[SelfReported] | str | os.PathLike[str] | None = None,
    *,
    charts: bool = True,
    config: Config | None = None,
    frames: Frames | None = None,
) -> Packet:
    """Build the evidence packet of ``person`` (a person id, login or email) for [since, until] (dates,
    both included, UTC).

    Args:
        con: an open warehouse connection (``warehouse.read_only(db)``).
        rubric: a :class:`Rubric`, a rubric file, or None for the default rubric.
        brag: self-reported entries, a brag file (YAML or Markdown), or None.
        charts: build the charts (the dashboard may draw its own).
        config: the effective configuration (``impactlens.config.load``): categories, bots, review and
            ladder settings; None: the defaults (no file is read).
        frames: the warehouse's :class:`impactlens.metrics.Frames` read with ``config`` (the dashboard passes
            its preloaded ones, so the organisation-wide derived tables such as ``pr_facts`` are built once for
            every packet); None: read from ``con``.

    Raises:
        EvidenceError: unknown person, ``until`` before ``since``; RubricError / BragError for bad files.
    """
    person_id, _ = resolve_person(con, person)
    rub = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    entries = brag if isinstance(brag, list) else (load_brag(brag) if brag is not None else [])
    entries = [resolve_links(con, e) for e in entries]
    s = Subject(con, person_id, since, until, config=config, frames=frames)  # type: ignore[arg-type]
    found = claims_mod.all_claims(s)
    unmeasured = {name: reason for name in claims_mod.NEEDS if (reason := s.unmeasured(name))}
    items = audit(rub, found, unmeasured)
    sections = _sections(found, entries, since, until)
    for section in sections:
        gaps = [line for src in claims_mod.SECTION_NEEDS.get(section.key, ()) if src not in s.sources
                for line in coverage_mod.missing(con, s.repos, [src])]
        section.gap = " ".join(dict.fromkeys(g.rstrip(".") + "." for g in gaps)).rstrip(".")
    chart_list = [c for c in (activity_chart(s), delivery_chart(found, s)) if c] if charts else []
    return Packet(
        person_id=person_id, name=s.name, since=since, until=until, context=s.context,
        summary=_summary(s, found, items, rub), sections=sections, rubric_name=rub.name, audit=items,
        star=_star(found), charts=chart_list, title=s.profile.get("title"), level=s.profile.get("level"),
        sources_text=_sources_text(s), coverage=_coverage_lines(s),
    )

