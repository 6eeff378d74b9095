"""Altair chart builders for the dashboard: every chart has a title, axis titles with units, and a reading.

Each builder takes a small, already aggregated Polars frame (one row per week, phase or bucket: never
more than a few hundred rows; see :mod:`impactlens.dashboard.figures`) and returns a :class:`Panel`: the
chart and a one-line plain-language reading of what it shows, which the page prints under the chart.
Weeks are UTC weeks starting on Monday; durations are hours; sizes are changed lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from impactlens.text import counted

WEEK_AXIS = alt.Axis(title="Week (UTC, starting Monday)", format="%d %b", labelAngle=0, tickCount="week")
#: Weeks as bands, for bar charts (bars on a time scale are thin and overhang the ends).
WEEK_BANDS = alt.X("yearmonthdate(week):O", axis=alt.Axis(title="Week (UTC, starting Monday)", format="%d %b",
                                                          labelAngle=0, labelOverlap=True))
HEIGHT = 400
#: Colours that stay apart for colour-blind readers (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


@dataclass(frozen=True)
class Panel:
    """A chart and the one-line reading printed under it; ``chart`` None when there is nothing to draw (the
    reading says why, and the page shows it in place of an empty chart)."""

    chart: alt.Chart | alt.LayerChart | None
    reading: str


def _hours(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 24:.1f} days" if value >= 72 else f"{value:.1f} h"


def _title(text: str, subtitle: str | list[str] | None = None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or alt.Undefined, anchor="start")


def _long(frame: pl.DataFrame, columns: dict[str, str], value: str) -> pl.DataFrame:
    """``frame`` (week + ``columns``) unpivoted to week, series (the columns' labels), ``value``."""
    return (
        frame.select("week", *[pl.col(c).alias(label) for c, label in columns.items()])
        .unpivot(index="week", variable_name="series", value_name=value)
    )


def _weekly_lines(frame: pl.DataFrame, columns: dict[str, str], *, title: str, y_title: str, value: str,
                  subtitle: str | None = None) -> alt.Chart:
    data = _long(frame, columns, value)
    order = list(columns.values())
    color = alt.Color("series:N", title=None, sort=order, scale=alt.Scale(range=PALETTE),
                      legend=alt.Legend(orient="top"))
    base = alt.Chart(data).encode(
        x=alt.X("week:T", axis=WEEK_AXIS),
        y=alt.Y(f"{value}:Q", title=y_title),
        color=color,
        tooltip=[alt.Tooltip("week:T", title="Week of", format="%d %b %Y"), alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip(f"{value}:Q", title=y_title, format=",.1f")],
    )
    mark = base.mark_line(point=True, strokeWidth=2)
    return mark.properties(title=_title(title, subtitle), height=HEIGHT)


def _trend_words(series: pl.Series, unit_fmt) -> str:
    """ "rose from A to B" / "fell from A to B" / "held at about A", comparing the first and last thirds."""
    values = series.drop_nulls()
    if values.len() < 2:
        return ""
    third = max(1, values.len() // 3)
    first, last = values.head(third).median(), values.tail(third).median()
    if first is None or last is None:
        return ""
    if first == 0 or abs(last - first) / abs(first) < 0.1:
        return f"held at about {unit_fmt(last)}"
    return f"{'rose' if last > first else 'fell'} from {unit_fmt(first)} to {unit_fmt(last)}"


# ---------------------------------------------------------------------------- My impact


def person_activity(weekly: pl.DataFrame) -> Panel:
    """PRs merged and reviews given per week. ``weekly``: week, prs_merged, reviews_given (see data.person_weekly)."""
    weeks = weekly.height
    chart = _weekly_lines(weekly, {"prs_merged": "PRs merged", "reviews_given": "Reviews given"},
                          title="PRs merged and reviews given per week", y_title="Count per week",
                          value="count")
    prs, reviews = int(weekly["prs_merged"].sum()), int(weekly["reviews_given"].sum())
    reading = (f"{counted(prs, 'PRs')} merged and {counted(reviews, 'reviews')} given over {counted(weeks, 'weeks')} "
               f"(about {prs / max(weeks, 1):.1f} and {reviews / max(weeks, 1):.1f} a week).")
    return Panel(chart, reading)


def person_commits(weekly: pl.DataFrame) -> Panel:
    """Non-merge commits authored per week (git data, shown when no PRs were collected). ``weekly``: week,
    commits (see data.person_weekly)."""
    weeks = weekly.height
    chart = _weekly_lines(weekly, {"commits": "Commits"}, title="Commits per week", y_title="Commits per week",
                          value="count", subtitle="Non-merge commits authored (git)")
    commits = int(weekly["commits"].sum())
    active = int((weekly["commits"] > 0).sum())
    reading = (f"{counted(commits, 'commits')} over {counted(weeks, 'weeks')}, in {counted(active, 'weeks')} "
               f"with at least one (about {commits / max(weeks, 1):.1f} a week).")
    return Panel(chart, reading)


def person_pr_size(weekly: pl.DataFrame) -> Panel:
    """Median size of the person's merged PRs per week. ``weekly``: week, median_changed_lines, size_prs."""
    data = weekly.filter(pl.col("size_prs") > 0)
    chart = alt.Chart(data).mark_circle(size=80, opacity=0.85, color=PALETTE[0]).encode(
        x=alt.X("week:T", axis=WEEK_AXIS, scale=alt.Scale(domain=_week_domain(weekly))),
        y=alt.Y("median_changed_lines:Q", title="Median changed lines per PR"),
        tooltip=[alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                 alt.Tooltip("median_changed_lines:Q", title="Median changed lines", format=",.0f"),
                 alt.Tooltip("size_prs:Q", title="PRs merged")],
    ).properties(title=_title("Median PR size per week", "Each dot: the median of that week's merged PRs"),
                 height=HEIGHT)
    if data.height == 0:
        reading = "No merged PRs in this period."
    else:
        trend = _trend_words(data["median_changed_lines"], lambda v: f"{v:,.0f} lines")
        reading = (f"Weekly medians over {counted(int(data['size_prs'].sum()), 'merged PRs')} ranged from "
                   f"{data['median_changed_lines'].min():,.0f} to {data['median_changed_lines'].max():,.0f} changed lines"
                   + (f"; the median {trend}." if trend else "."))
    return Panel(chart, reading)


def _week_domain(weekly: pl.DataFrame) -> Any:  # [first, last] ISO days, or alt.Undefined
    weeks = weekly["week"]
    return [weeks.min().isoformat(), weeks.max().isoformat()] if weeks.len() else alt.Undefined


# ---------------------------------------------------------------------------- Team health


def pr_size_trend(size: pl.DataFrame) -> Panel:
    """Median and p90 changed lines of merged PRs per week. ``size``: week, prs, median_changed_lines,
    p90_changed_lines."""
    chart = _weekly_lines(size, {"median_changed_lines": "Median", "p90_changed_lines": "90th percentile"},
                          title="PR size trend", subtitle="Changed lines of merged PRs, without generated, lockfile and vendored files",
                          y_title="Changed lines per PR", value="lines")
    trend = _trend_words(size["median_changed_lines"], lambda v: f"{v:,.0f} lines")
    prs = int(size["prs"].sum())
    reading = f"Median PR size {trend} over {counted(prs, 'merged PRs')}." if trend else f"{counted(prs, 'merged PRs')} in the period."
    return Panel(chart, reading)


def first_review_trend(ttfr: pl.DataFrame) -> Panel:
    """Time to first review p50 and p90 per week. ``ttfr``: week, prs, median_hours, p90_hours, never_reviewed_prs."""
    chart = _weekly_lines(ttfr, {"median_hours": "p50 (median)", "p90_hours": "p90"},
                          title="Time to first review",
                          subtitle="From ready for review to the first human review or comment (bots excluded)",
                          y_title="Hours", value="hours")
    trend = _trend_words(ttfr["median_hours"], _hours)
    never = int(ttfr["never_reviewed_prs"].sum())
    reading = (f"The median wait {trend} over {counted(int(ttfr['prs'].sum()), 'PRs')}" if trend
               else f"{counted(int(ttfr['prs'].sum()), 'PRs')} became ready for review")
    reading += f"; {counted(never, 'PRs')} never got a review." if never else "."
    if ttfr["median_hours"].drop_nulls().len() == 0:  # no PR got a first review: no line to draw
        return Panel(None, f"Time to first review: no PR got a first review in this period ({reading[0].lower()}{reading[1:]})")
    return Panel(chart, reading)


PHASES = {"coding": "Coding", "pickup": "Pickup", "review": "Review", "deploy": "Deploy"}


def cycle_phases(phases: pl.DataFrame) -> Panel:
    """Median hours of each PR cycle-time phase over the period. ``phases``: phase (coding/pickup/review/deploy),
    median_hours, prs (merged PRs behind the medians)."""
    data = phases.with_columns(pl.col("phase").replace_strict(PHASES, default=pl.col("phase")).alias("label"))
    chart = alt.Chart(data).mark_bar(color=PALETTE[0]).encode(
        y=alt.Y("label:N", title="Phase", sort=list(PHASES.values())),
        x=alt.X("median_hours:Q", title="Median hours"),
        tooltip=[alt.Tooltip("label:N", title="Phase"), alt.Tooltip("median_hours:Q", title="Median hours", format=",.1f"),
                 alt.Tooltip("prs:Q", title="Merged PRs")],
    ).properties(title=_title("Cycle time by phase", ["Coding: first commit to ready for review · Pickup: to the first review",
                                                       "Review: to merge · Deploy: merge to production"]),
                 height=HEIGHT - 60)
    known = data.drop_nulls("median_hours")
    if known.height == 0:
        return Panel(None, "Cycle time by phase: no merged PRs in this period.")
    top = known.sort("median_hours", descending=True).row(0, named=True)
    prs = int(data["prs"].max() or 0)
    return Panel(chart, f"{top['label']} is the longest phase (median {_hours(top['median_hours'])}) across {counted(prs, 'merged PRs')}; "
                        "medians of phases do not add up to the median cycle time.")


def open_prs(age: pl.DataFrame, at_label: str) -> Panel:
    """Open PRs per age bucket at a moment. ``age``: age, order, state ('ready' | 'draft'), prs."""
    order = age.sort("order")["age"].unique(maintain_order=True).to_list()
    chart = alt.Chart(age).mark_bar().encode(
        x=alt.X("age:N", title="Age since the PR was opened", sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("prs:Q", title="Open PRs", stack=True),
        color=alt.Color("state:N", title=None, scale=alt.Scale(domain=["ready", "draft"], range=PALETTE[:2]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("age:N", title="Age"), alt.Tooltip("state:N", title="State"),
                 alt.Tooltip("prs:Q", title="Open PRs")],
    ).properties(title=_title("Open PRs by age", f"PRs open at {at_label}"), height=HEIGHT)
    total = int(age["prs"].sum()) if age.height else 0
    old = int(age.filter(pl.col("order") >= 3)["prs"].sum()) if age.height else 0
    if total == 0:
        return Panel(None, f"Open PRs by age: no PR was open at {at_label}.")
    return Panel(chart, f"{counted(total, 'PRs')} {'was' if total == 1 else 'were'} open at {at_label}; {old} of them for more "
                        "than a week.")


def review_balance(load: pl.DataFrame) -> Panel:
    """Review load balance per week: Gini and the busiest reviewer's share (0-1). ``load``: week, members,
    reviews, gini, top_share. Names no one."""
    chart = _weekly_lines(load, {"gini": "Gini coefficient", "top_share": "Busiest reviewer's share"},
                          title="Review load balance",
                          subtitle="0 = reviews shared equally; near 1 = one person does them all",
                          y_title="Coefficient / share (0–1)", value="value")
    known = load.drop_nulls("gini")
    if known.height == 0:
        return Panel(None, "Review load balance: no reviews in this period.")
    share = known["top_share"].median()
    members = int(known["members"].median())
    return Panel(chart, f"In a typical week the busiest reviewer did {share:.0%} of the reviews among {members} "
                        f"members (median Gini {known['gini'].median():.2f}).")


def incidents_trend(incidents: pl.DataFrame) -> Panel:
    """Incidents opened per week. ``incidents``: week, incidents, mttr_median_hours, resolved_incidents."""
    chart = alt.Chart(incidents).mark_bar(color=PALETTE[5]).encode(
        x=WEEK_BANDS,
        y=alt.Y("incidents:Q", title="Incidents opened", axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("week:T", title="Week of", format="%d %b %Y"), alt.Tooltip("incidents:Q", title="Incidents"),
                 alt.Tooltip("mttr_median_hours:Q", title="MTTR (median hours)", format=",.1f")],
    ).properties(title=_title("Incidents per week", "Opened; for a team: led or responded to by one of its members"),
                 height=HEIGHT)
    n = int(incidents["incidents"].sum())
    return Panel(chart, f"{counted(n, 'incidents')} opened in {counted(incidents.height, 'weeks')}." if n
                 else "No incidents in this period.")


def mttr_trend(incidents: pl.DataFrame) -> Panel:
    """Median time to restore per week (hours). ``incidents``: week, mttr_median_hours, resolved_incidents."""
    data = incidents.filter(pl.col("mttr_median_hours").is_not_null())
    chart = alt.Chart(data).mark_circle(size=80, color=PALETTE[5]).encode(
        x=alt.X("week:T", axis=WEEK_AXIS, scale=alt.Scale(domain=_week_domain(incidents))),
        y=alt.Y("mttr_median_hours:Q", title="Median hours to restore"),
        tooltip=[alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                 alt.Tooltip("mttr_median_hours:Q", title="MTTR (median hours)", format=",.1f"),
                 alt.Tooltip("resolved_incidents:Q", title="Resolved incidents")],
    ).properties(title=_title("MTTR per week", "Median time from opened to resolved"), height=HEIGHT)
    if data.height == 0:
        return Panel(chart, "No resolved incidents in this period.")
    trend = _trend_words(data["mttr_median_hours"], _hours)
    resolved = counted(int(data["resolved_incidents"].sum()), "resolved incidents")
    return Panel(chart, f"MTTR {trend} over {resolved}." if trend else f"{resolved}.")


def deployments_trend(deploys: pl.DataFrame) -> Panel:
    """Production deployments per week, failed ones apart. ``deploys``: week, deployments, failed_deployments."""
    data = deploys.select("week", (pl.col("deployments") - pl.col("failed_deployments")).alias("Succeeded"),
                          pl.col("failed_deployments").alias("Caused a failure")).unpivot(
        index="week", variable_name="outcome", value_name="deployments")
    chart = alt.Chart(data).mark_bar().encode(
        x=WEEK_BANDS,
        y=alt.Y("deployments:Q", title="Production deployments", stack=True),
        color=alt.Color("outcome:N", title=None, scale=alt.Scale(domain=["Succeeded", "Caused a failure"],
                                                                 range=[PALETTE[2], PALETTE[5]]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("week:T", title="Week of", format="%d %b %Y"), alt.Tooltip("outcome:N", title="Outcome"),
                 alt.Tooltip("deployments:Q", title="Deployments")],
    ).properties(title=_title("Deployments per week", "Failure: an incident, revert or hotfix attributed to it"),
                 height=HEIGHT)
    total, failed = int(deploys["deployments"].sum()), int(deploys["failed_deployments"].sum())
    return Panel(chart, f"{counted(total, 'production deployments')}, {failed} of them followed by a failure." if total
                 else "No production deployments in this period.")
