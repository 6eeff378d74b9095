"""The weekly team health review: figures that moved most, open PRs waiting longest, review load balance,
incidents. Built from the metrics API; rendered like the packet (Markdown + PNG, HTML with SVG, JSON).

Privacy: the review aggregates the team. Review load balance shows the team's Gini coefficient and the
largest share; individual shares are listed only when asked for (``names=True``, ``--show-names``).
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

import altair as alt
import duckdb
import polars as pl

from impactlens.config import Config
from impactlens.membership import overlaps_expr
from impactlens.evidence.model import Figure, Record, fmt_number, to_jsonable
from impactlens.evidence.packet import Chart, file_link, html_page, record_html, write_document
from impactlens.evidence.tables import EvidenceError, repo_urls, team_names
from impactlens.metrics import comparison
from impactlens.text import md_text
from impactlens.metrics import (
    Frames, Scope, cycle_time, dora, incident_facts, incident_roles, incident_summary, load, pr_facts, pr_size, review_load,
    throughput, time_to_first_review, with_team,
)

#: Weeks before the reviewed one whose mean is the baseline of "figures that moved".
BASELINE_WEEKS = 4
#: Open PRs listed as waiting longest.
WAITING_SHOWN = 10


def parse_week(text: str | date) -> date:
    """The Monday (UTC) of ``text``: an ISO week (``2026-W14``) or any date in the week (``2026-04-01``).

    Raises:
        EvidenceError: neither form.
    """
    if isinstance(text, date):
        return text - timedelta(days=text.weekday())
    match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), re.IGNORECASE)
    try:
        if match:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise EvidenceError(f"week '{text}' is neither an ISO week (2026-W14) nor a date (2026-04-01).") from None
    return day - timedelta(days=day.weekday())


@dataclass
class Moved:
    """One team figure this week beside its baseline (mean of the previous BASELINE_WEEKS weeks).

    ``verdict`` is the comparison rule's (:func:`impactlens.metrics.comparison.judge`; None when the baseline
    weeks are not covered by the figure's data, whose baseline is then not shown): ``verdict.significant``
    marks a figure that moved beyond noise."""

    figure: Figure
    weeks_with_data: int
    verdict: comparison.Change | None = None

    def line(self) -> str:
        """ "PRs merged: 12 PRs (mean of the previous 4 weeks: 3 PRs, +300%) — moved: p = 0.00 (...)"."""
        text = f"{self.figure.name}: {self.figure.text()}"
        if self.verdict is not None and self.figure.previous is not None:
            text += (" — moved: " if self.verdict.significant else " — within noise: ") + self.verdict.reason
        return text


@dataclass
class TeamReview:
    """A team's weekly health review. Build it with :func:`build_team_review`."""

    team_id: str
    team_name: str
    week_start: date
    members: int
    moved: list[Moved]
    waiting: list[dict[str, Any]]
    load: dict[str, Any]
    incidents: list[dict[str, Any]]
    charts: list[Chart] = field(default_factory=list)

    @property
    def week_label(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d} ({self.week_start} to {self.week_start + timedelta(days=6)})"

    def records(self) -> list[Record]:
        return [w["record"] for w in self.waiting] + [i["record"] for i in self.incidents]

    def to_markdown(self, chart_files: dict[str, str] | None = None) -> str:
        md = md_text  # every text from the data is escaped: no raw HTML, no links but the records'
        out = [f"# Team health review: {md(self.team_name)}, {self.week_label}", "",
               f"*Team of {self.members} engineers during the week. Figures aggregate the team; baseline: mean of the "
               f"previous {BASELINE_WEEKS} weeks.*", ""]
        for chart in self.charts:
            if chart_files and chart.name in chart_files:
                out += [f"![{md(chart.title)}]({file_link(chart_files[chart.name])})", ""]
        out += ["## Figures that moved most", ""]
        if not self.moved:
            out += ["The data has no team figures for this week.", ""]
        for m in self.moved:
            out += [f"- {md(m.line())} ({md(m.figure.context)})"]
        out += ["", "## Open PRs waiting longest for a first review", ""]
        if not self.waiting:
            out += ["No open PR by the team was waiting for a first review at the end of the week.", ""]
        for w in self.waiting:
            out += [f"- {w['record'].markdown()}: waiting {w['waiting_hours']:.0f} hours since ready on {w['ready_at']:%Y-%m-%d}"]
        out += ["", "## Review load balance", "", self._load_text(), ""]
        for share in self.load.get("shares", []):
            out += [f"- {md(share['name'])}: {share['reviews']} reviews ({share['share']:.0%})"]
        out += ["", "## Incidents", ""]
        if not self.incidents:
            out += ["No incident with the team taking part opened this week.", ""]
        for inc in self.incidents:
            out += [f"- {inc['record'].markdown()}: {md(inc['status'])}"]
        return "\n".join(out) + "\n"

    def _load_text(self) -> str:
        load = self.load
        if not load.get("reviews"):
            return "The data shows no reviews by team members this week."
        return (f"{load['reviews']} reviews by {load['reviewers']} of {load['members']} members; Gini coefficient "
                f"{load['gini']:.2f} (0 = evenly shared); the busiest reviewer did {load['top_share']:.0%} of them.")

    def to_html(self) -> str:
        e = html.escape
        parts = [f"<h1>Team health review: {e(self.team_name)}, {e(self.week_label)}</h1>",
                 f"<p class='meta'>Team of {self.members} engineers during the week. Baseline: mean of the previous "
                 f"{BASELINE_WEEKS} weeks.</p>"]
        for chart in self.charts:
            parts.append(f"<figure class='chart' id='chart-{e(chart.name)}'>{chart.svg()}<figcaption>{e(chart.title)}"
                         "</figcaption></figure>")
        parts.append("<h2>Figures that moved most</h2><ul>" + "".join(
            f"<li>{e(m.line())} <span class='ctx'>({e(m.figure.context)})</span></li>"
            for m in self.moved) + "</ul>")
        parts.append("<h2>Open PRs waiting longest for a first review</h2><ul>" + "".join(
            f"<li>{record_html(w['record'])}: waiting {w['waiting_hours']:.0f} hours</li>" for w in self.waiting) + "</ul>")
        parts.append(f"<h2>Review load balance</h2><p>{e(self._load_text())}</p>")
        parts.append("<h2>Incidents</h2><ul>" + "".join(
            f"<li>{record_html(i['record'])}: {e(i['status'])}</li>" for i in self.incidents) + "</ul>")
        return html_page(f"Team health review: {self.team_name}", "\n".join(parts))

    def to_json(self) -> str:
        data = to_jsonable({k: v for k, v in self.__dict__.items() if k != "charts"})
        data["charts"] = [{"name": c.name, "title": c.title, "vega_lite": c.spec} for c in self.charts]
        return json.dumps(data, indent=2, ensure_ascii=False, default=str)

    def write(self, path: str | os.PathLike[str], fmt: str) -> list[Path]:
        return write_document(self, Path(path), fmt)


_FIGURES = (
    # (label, metric function, column, unit, column of the records behind a median, source of the data)
    ("PRs merged", throughput, "prs_merged", "PRs", None, "pull_requests"),
    ("Commits", throughput, "commits", "commits", None, "git"),
    ("Reviews given", throughput, "reviews_given", "reviews", None, "reviews"),
    ("Median PR size", pr_size, "median_changed_lines", "lines", "prs", "pull_requests"),
    ("Median time to first review", time_to_first_review, "median_hours", "hours", "prs", "pull_requests"),
    ("Median cycle time to merge", cycle_time, "median_cycle_time_to_merge_hours", "hours", "prs", "pull_requests"),
    ("Incidents", incident_summary, "incidents", "incidents", None, "incidents"),
    ("Median time to restore", incident_summary, "mttr_median_hours", "hours", "resolved_incidents", "incidents"),
    ("Deployments", dora, "deployments", "deployments", None, "deployments"),
)
#: source -> SQL of the first record's time (the comparison rule: is the baseline covered?).
_FIRST = {"pull_requests": "SELECT min(created_at) FROM pull_requests", "reviews": "SELECT min(submitted_at) FROM reviews",
          "incidents": "SELECT min(opened_at) FROM incidents", "git": "SELECT min(authored_at) FROM commits",
          "deployments": "SELECT min(created_at) FROM deployments"}
#: Units of counts: a week without a row had none of them.
_COUNTS = ("PRs", "commits", "reviews", "incidents", "deployments")
#: The figures of the team review's trend chart.
_TREND = ("PRs merged", "Median time to first review")


def first_records(con: duckdb.DuckDBPyConnection) -> dict[str, datetime | None]:
    """source (a key of :data:`impactlens.coverage.SOURCES`: git, pull_requests, reviews, incidents,
    deployments) -> when its data begins (its first record over every repository, UTC; None when none)."""
    return {source: con.sql(sql).fetchall()[0][0] for source, sql in _FIRST.items()}


def what_moved(frames: Frames, week: date, firsts: Mapping[str, date | datetime | None], *, team: str | None = None,
               repo: str | None = None, context: str = "") -> list[Moved]:
    """What moved in the week of ``week`` (a Monday, UTC): the one definition of a team's "figures that moved"
    (docs/metrics.md "Comparisons"), for the team review and the dashboard's Team health.

    Each figure of :data:`_FIGURES` (PRs merged, commits, reviews given, median PR size, median time to first
    review, median cycle time to merge, incidents, median time to restore, deployments), for the people of
    ``team`` (None: everyone) in ``repo`` (None: every repository), in the week against its baseline: the mean of
    the previous :data:`BASELINE_WEEKS` weeks (a count's total over them / 4; a median's weekly values'
    mean). The baseline is left out, with the share covered in the figure's context, when the figure's source
    (``firsts[source]``: when its data begins; see :func:`first_records`) does not cover the baseline weeks
    (:func:`impactlens.metrics.comparison.comparable`); else ``verdict`` is the comparison rule's
    (:func:`impactlens.metrics.comparison.judge`: counts by the exact Poisson test at exposure 1/4, medians by
    the records behind them and a 25% change). Figures with no value in the week and no baseline are left
    out. Sorted: significant changes first, then by the size of the change; no change to measure last.
    ``context`` starts each figure's context (who and which week). Each figure has its ``source``,
    ``comparable`` (False when the baseline is not covered; ``covered`` is then the share of its days the data
    covers, None when the source was never collected) and ``lower_is_better`` (sizes, times, incidents).
    """
    start = datetime.combine(week, datetime.min.time(), timezone.utc)
    end = start + timedelta(days=7)
    base_start = start - timedelta(weeks=BASELINE_WEEKS)
    scope = Scope(team=team, repo=repo, start=base_start, end=end)
    moved: list[Moved] = []
    computed: dict[Any, pl.DataFrame] = {}  # each function once: throughput gives three figures, incidents two
    for label, func, column, unit, count_column, source in _FIGURES:
        if func not in computed:
            computed[func] = func(frames, scope, by=None, grain="week").collect()  # type: ignore[operator]
        frame = computed[func]
        if frame.is_empty():
            continue
        this_rows = frame.filter(pl.col("period_start") == start)
        base_rows = frame.filter((pl.col("period_start") < start) & (pl.col("period_start") >= base_start))
        this, base = this_rows[column], base_rows[column].drop_nulls()
        value = float(this[0]) if len(this) and this[0] is not None else (0.0 if unit in _COUNTS else None)
        baseline: float | None
        if unit in _COUNTS:  # weeks with no row had none
            baseline = float(base.sum()) / BASELINE_WEEKS
        else:
            baseline = float(base.mean()) if len(base) else None  # type: ignore[arg-type]
        text = f"{context}; baseline: mean of the previous {BASELINE_WEEKS} weeks" if context else \
            f"baseline: mean of the previous {BASELINE_WEEKS} weeks"
        first = firsts.get(source)
        verdict = None
        covered: float | None = 1.0
        comparable = comparison.comparable(first, base_start.date())
        if not comparable:
            # The baseline weeks are not all covered by this figure's data: no baseline, no change.
            share = comparison.covered_share(first, base_start.date(), (start - timedelta(days=1)).date())
            covered = share if first is not None else None
            text += (f", only {share:.0%} covered by the data (it begins {first:%Y-%m-%d}): no comparison"
                     if first is not None else ", not covered by the data: no comparison")
            baseline = None
        elif value is not None and baseline is not None:
            if unit in _COUNTS:
                verdict = comparison.judge("count", value, baseline, exposure=1 / BASELINE_WEEKS, noun=unit)
            else:
                n_this = int(this_rows[count_column].sum() or 0) if count_column in this_rows.columns else 0
                n_base = int(base_rows[count_column].sum() or 0) if count_column in base_rows.columns else 0
                verdict = comparison.judge("median", value, baseline, count=n_this, previous_count=n_base,
                                           noun="records")
        if value is None and baseline is None:
            continue
        fig = Figure(label, round(value, 1) if value is not None else None, unit, text,
                     previous=round(baseline, 1) if baseline is not None else None,
                     previous_label=f"mean of the previous {BASELINE_WEEKS} weeks",
                     lower_is_better=unit in ("lines", "hours", "incidents"), source=source,
                     comparable=comparable, covered=None if comparable else covered)
        moved.append(Moved(fig, len(base), verdict))
    # Figures that moved beyond noise first, then by the size of the change; no change to measure last.
    moved.sort(key=lambda m: (not (m.verdict and m.verdict.significant),
                              -abs(m.figure.change) if m.figure.change is not None else 0.0))
    return moved


def build_team_review(con: duckdb.DuckDBPyConnection, team: str, week: str | date, *, names: bool = False,
                      config: Config | None = None) -> TeamReview:
    """The health review of ``team`` (a team id or name) for the week holding ``week``, with ``config``
    (business hours, bots, review settings; default the defaults). Its figures are :func:`what_moved`'s.

    Raises:
        EvidenceError: unknown team or week.
    """
    teams = team_names(con)
    team_id = team if team in teams else next((t for t, n in teams.items() if n.lower() == team.lower()), None)
    if team_id is None:
        raise EvidenceError(f"no team '{team}' in the warehouse (known: {', '.join(sorted(teams)) or 'none'}).")
    monday = parse_week(week)
    start = datetime.combine(monday, datetime.min.time(), timezone.utc)
    end = start + timedelta(days=7)
    base_start = start - timedelta(weeks=BASELINE_WEEKS)
    frames = load(con, coded=False, config=config)
    urls = repo_urls(con)
    members = frames.memberships.filter(
        (pl.col("team_id") == team_id) & overlaps_expr(monday, monday + timedelta(days=7))
    ).collect()["person_key"].n_unique()

    moved = what_moved(frames, monday, first_records(con), team=team_id,
                       context=f"team {teams[team_id]} ({members} engineers), week {monday}")
    scope = Scope(team=team_id, start=base_start, end=end)
    shown = {m.figure.name for m in moved}
    series: list[dict] = []
    for label, func, column, unit, _, _ in _FIGURES:
        if label not in _TREND or label not in shown:
            continue
        for row in func(frames, scope, by=None, grain="week").collect().iter_rows(named=True):  # type: ignore[operator]
            if row[column] is not None:
                series.append({"week": row["period_start"].date().isoformat(), "figure": f"{label} ({unit})",
                               "value": float(row[column])})

    # Open PRs by team members, ready before the week's end and with no human response by then.
    facts = with_team(frames, pr_facts(frames).filter(~pl.col("author_is_bot") & ~pl.col("is_draft")),
                      "author_key", "ready_at").filter(pl.col("team_id") == team_id).collect()
    open_at_end = facts.filter(
        (pl.col("ready_at") < end)
        & (pl.col("first_human_response_at").is_null() | (pl.col("first_human_response_at") >= end))
        & (pl.col("merged_at").is_null() | (pl.col("merged_at") >= end))
        & (pl.col("closed_at").is_null() | (pl.col("closed_at") >= end))
    ).with_columns(((pl.lit(end) - pl.col("ready_at")).dt.total_seconds() / 3600).alias("waiting_hours"))
    waiting = [
        {"record": Record("pr", str(r["number"]), f"{r['repo_id']}#{r['number']}", r["repo_id"],
                          r["url"] or (f"{urls[r['repo_id']]}/pull/{r['number']}" if r["repo_id"] in urls else None),
                          r["title"]),
         "waiting_hours": r["waiting_hours"], "ready_at": r["ready_at"]}
        for r in open_at_end.sort("waiting_hours", descending=True).head(WAITING_SHOWN).iter_rows(named=True)
    ]

    shares, team_rows = review_load(frames, Scope(team=team_id, start=start, end=end), grain="week")
    team_row = team_rows.filter(pl.col("period_start") == start).collect()
    share_rows = shares.filter(pl.col("period_start") == start).collect()
    load_info: dict[str, Any] = {"members": members, "reviews": 0}
    if not team_row.is_empty() and team_row["reviews"][0]:
        load_info = {
            "members": int(team_row["members"][0]), "reviews": int(team_row["reviews"][0]),
            "reviewers": int((share_rows["reviews"] > 0).sum()), "gini": float(team_row["gini"][0] or 0.0),
            "top_share": float(team_row["top_share"][0] or 0.0),
        }
        if names:
            people = frames.people.select("person_key", "display_name").collect()
            name_of = dict(zip(people["person_key"], people["display_name"]))
            load_info["shares"] = [
                {"name": name_of.get(r["person_key"], r["person_key"]), "reviews": int(r["reviews"]), "share": float(r["share"] or 0)}
                for r in share_rows.sort("reviews", descending=True).iter_rows(named=True)
            ]

    roles = incident_roles(frames).collect()
    member_keys = frames.memberships.filter(pl.col("team_id") == team_id).collect()["person_key"].to_list()
    involved = roles.filter(pl.col("person_key").is_in(member_keys))["incident_id"].unique()
    incidents = incident_facts(frames).filter(
        (pl.col("opened_at") >= start) & (pl.col("opened_at") < end)
    ).collect().filter(pl.col("incident_id").is_in(involved.implode()))
    incident_rows = []
    for r in incidents.sort("opened_at").iter_rows(named=True):
        status = ("still open" if r["is_open"] else f"restored in {fmt_number(round(r['time_to_restore_hours'], 1))} hours")
        status += ", postmortem linked" if r["has_postmortem"] else ", no postmortem linked"
        incident_rows.append({"record": Record("incident", r["incident_id"], r["incident_id"], r["repo_id"], r["url"],
                                               r["title"]), "status": status, "severity": r["severity"]})

    charts = []
    if series:
        spec = alt.Chart(alt.Data(values=series)).mark_line(point=True).encode(
            x=alt.X("week:T", title="Week (UTC)"), y=alt.Y("value:Q", title=None),
            color=alt.Color("figure:N", title=None),
        ).properties(width=560, height=220, title=f"{teams[team_id]}: the reviewed week and the {BASELINE_WEEKS} before")
        charts.append(Chart("trend", f"PRs merged and median time to first review, {teams[team_id]}", spec.to_dict()))
    return TeamReview(team_id, teams[team_id], monday, members, moved, waiting, load_info, incident_rows, charts)
