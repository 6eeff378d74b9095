"""The Promotion case page's content until the evidence module publishes its packet: a person's figures and
records grouped the way promotion committees read them, and the same as Markdown and HTML downloads.

A :class:`Case` holds :class:`Section` s (committee heading, what it covers, :class:`impactlens.dashboard.figures.Figure` s
and :class:`Record` s with links). Nothing here judges: the wording states what the data shows.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import polars as pl

from impactlens.dashboard import figures, state
from impactlens import metrics
from impactlens.text import counted, md_link, md_text, safe_url

MAX_RECORDS = 12


@dataclass(frozen=True)
class Record:
    """One record behind a section: a text, an optional link, and a detail (date, size, role)."""

    text: str
    url: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", safe_url(self.url))  # only http(s) addresses become links


@dataclass
class Section:
    title: str
    about: str
    figures: list[figures.Figure]
    records: list[Record] = field(default_factory=list)
    total_records: int = 0
    empty: str = "No records in the data for this period."


@dataclass
class Case:
    person: str
    name: str
    context: str
    sections: list[Section]


def _commit_url(wh: state.Warehouse, repo_id: str, sha: str, path: str | None = None) -> str | None:
    hit = wh.repos.filter(pl.col("repo_id") == repo_id)
    base = hit["url"][0] if hit.height else None
    if not base:
        return None
    return f"{base}/blob/{sha}/{path}" if path else f"{base}/commit/{sha}"


def _directories(wh: state.Warehouse, person: str, period: state.Period, repo: str | None) -> pl.DataFrame:
    """repo_id, directory, lines, share, owner_share: where the person's changed lines went
    (:func:`impactlens.metrics.ownership`; ``share`` of the person's lines, ``owner_share`` of the directory's)."""
    found = metrics.ownership(wh.frames, period.scope(person=person, repo=repo)).collect()
    total = found["lines"].sum() or 1
    return found.select("repo_id", "directory", "lines", (pl.col("lines") / total).alias("share"),
                        pl.col("share").alias("owner_share")).sort("lines", descending=True)


def build(wh: state.Warehouse, person: str, filters: state.Filters) -> Case:
    """The committee-shaped case for ``person`` over the sidebar's period and repository."""
    period, repo = filters.period, filters.repo
    figs = figures.committee_figures(wh, person, period, repo)
    pick = lambda keys: [figs[k] for k in keys if k in figs]  # noqa: E731
    sections = {title: Section(title, about, pick(keys)) for title, about, keys in figures.COMMITTEE_SECTIONS}

    scope = sections["Scope and ownership"]
    dirs = _directories(wh, person, period, repo)
    scope.total_records = dirs.height
    scope.records = [Record(f"{r['repo_id']} · {r['directory'] if r['directory'] != '.' else '(root)'}", None,
                            f"{r['lines']:,} changed lines ({r['share']:.0%} of this person's, "
                            f"{r['owner_share']:.0%} of the directory's)")
                     for r in dirs.head(MAX_RECORDS).iter_rows(named=True)]
    scope.empty = "No commits by this person in this period."

    lead = sections["Technical leadership"]
    written = figures.artifacts(wh, person, period, repo)
    asked = figures.person_reviews(wh, person, period, repo).filter(pl.col("state") == "changes_requested")
    lead.records = [Record(f"{r['category'].replace('_', ' ')}: {r['path']}", _commit_url(wh, r["repo_id"], r["sha"], r["path"]),
                           f"{r['repo_id']}, added {r['authored_at']:%d %b %Y}") for r in written.iter_rows(named=True)]
    lead.records += [Record(f"Changes requested on “{r['title']}” by {r['author']}", r["url"],
                            f"{r['submitted_at']:%d %b %Y}") for r in asked.head(MAX_RECORDS).iter_rows(named=True)]
    lead.total_records = written.height + asked.height
    lead.empty = "No ADRs, design docs or changes-requested reviews in this period."

    mentor = sections["Mentoring"]
    mentees = figures.mentoring(wh, person, period, repo)
    mentor.total_records = mentees.height
    mentor.records = [Record(wh.name(r["mentee_key"]), None,
                             f"{counted(r['touchpoints'], 'touchpoints')}: {counted(r['reviews'], 'reviews')}, "
                             f"{counted(r['review_comments'], 'review comments')}, {counted(r['pairing'], 'co-authored commits')}"
                             + (" (mentee)" if r["is_mentee"] else ""))
                      for r in mentees.head(MAX_RECORDS).iter_rows(named=True)]
    mentor.empty = "No reviews, comments or pairing on less experienced colleagues' work in this period."

    ops = sections["Operational excellence"]
    incidents = figures.person_incidents(wh, person, period, repo)
    ops.total_records = incidents.height
    ops.records = [Record(f"{r['incident_id']}: {r['title'] or 'incident'}", r["url"],
                          f"{r['role']}, opened {r['opened_at']:%d %b %Y}, restored in "
                          f"{figures.format_value(r['time_to_restore_hours'], 'hours')}"
                          + (", postmortem" if r["has_postmortem"] else ""))
                   for r in incidents.head(MAX_RECORDS).iter_rows(named=True)]
    ops.empty = "No incidents led or responded to in this period."

    delivery = sections["Delivery outcomes"]
    merged = figures.person_prs(wh, person, period, repo).filter(pl.col("merged_at").is_not_null())
    delivery.total_records = merged.height
    delivery.records = [Record(f"{r['repo_id']}#{r['number']} {r['title']}", r["url"],
                               f"merged {r['merged_at']:%d %b %Y}, {r['changed_lines'] or 0:,} changed lines")
                        for r in merged.head(MAX_RECORDS).iter_rows(named=True)]
    delivery.empty = "No merged pull requests in this period."

    teams = ", ".join(state.person_teams(wh, person, period)) or "no team in the roster"
    context = f"{teams} · {period.label()} · {repo or 'all repositories'}"
    return Case(person, wh.name(person), context, list(sections.values()))


def _figure_line(fig: figures.Figure) -> str:
    text = f"{fig.label}: {fig.shown()}"
    if fig.previous is not None:
        text += f" (previous period {fig.shown(fig.previous)}"
        text += f", {fig.change:+.0%})" if fig.change is not None else ")"
    if fig.context():
        text += f" — {fig.context()}"
    return text


def markdown(case: Case) -> str:
    """The case as Markdown: a heading, the context line, then each section's figures and records."""
    lines = [f"# Promotion case: {md_text(case.name)}", "", md_text(case.context), "",
             "Figures come from Git, GitHub and the incident tool; they show what happened, not a person's worth.", ""]
    for section in case.sections:
        lines += [f"## {md_text(section.title)}", "", f"_{md_text(section.about)}_", ""]
        lines += [f"- {md_text(_figure_line(fig))}" for fig in section.figures]
        lines.append("")
        if section.records:
            for record in section.records:
                lines.append(f"- {md_link(record.text, record.url)}" + (f" — {md_text(record.detail)}" if record.detail else ""))
            if section.total_records > len(section.records):
                lines.append(f"- … and {section.total_records - len(section.records)} more")
        else:
            lines.append(section.empty)
        lines.append("")
    return "\n".join(lines)


def html_page(case: Case) -> str:
    """The case as a standalone HTML page (no external resources)."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Promotion case: {esc(case.name)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5;color:#222}"
        "h2{border-bottom:1px solid #ddd;padding-bottom:.2rem}.about{color:#555;font-style:italic}"
        ".detail{color:#555}</style></head><body>",
        f"<h1>Promotion case: {esc(case.name)}</h1><p>{esc(case.context)}</p>",
        "<p>Figures come from Git, GitHub and the incident tool; they show what happened, not a person's worth.</p>",
    ]
    for section in case.sections:
        parts.append(f"<h2>{esc(section.title)}</h2><p class='about'>{esc(section.about)}</p><ul>")
        parts += [f"<li>{esc(_figure_line(fig))}</li>" for fig in section.figures]
        parts.append("</ul>")
        if section.records:
            parts.append("<ul>")
            for record in section.records:
                text = esc(record.text)
                if safe_url(record.url):
                    text = f"<a href='{esc(safe_url(record.url), quote=True)}'>{text}</a>"  # type: ignore[arg-type]
                detail = f" <span class='detail'>— {esc(record.detail)}</span>" if record.detail else ""
                parts.append(f"<li>{text}{detail}</li>")
            if section.total_records > len(section.records):
                parts.append(f"<li>… and {section.total_records - len(section.records)} more</li>")
            parts.append("</ul>")
        else:
            parts.append(f"<p>{esc(section.empty)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
