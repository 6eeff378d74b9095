"""Team health: a team's weekly review (trends, what moved this week against the 4 weeks before, DORA).
Aggregates only: no page here ranks or names individuals."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Callable

import streamlit as st

from impactlens import coverage
from impactlens.dashboard import access, charts, figures, state, ui
from impactlens.evidence.model import format_value
from impactlens.evidence.team_review import BASELINE_WEEKS
from impactlens.text import plural

wh, filters = ui.context()
if not access.current().may_see_team(filters.team):  # signed in: a lead sees their own teams only
    st.title("Team health")
    st.warning("Pick one of your teams in the sidebar: signed in, you see the Team health of the teams you lead "
               "(`[access.leads]` in impactlens.toml), not the organisation's.", icon=":material/lock:")
    st.stop()
team_name = wh.team_name(filters.team) if filters.team else "the organisation"
st.title(f"Team health: {team_name}")
st.caption("The weekly review: are PRs getting bigger, reviews slower, incidents longer? "
           "Figures are team aggregates; no individual is ranked.")

if not wh.has("pull_requests") and not wh.has("commits"):
    ui.empty("pull requests", "pull_requests", wh)
    st.stop()

active = state.active_people(wh, filters)  # humans with activity in the period (docs/metrics.md "Comparisons")
if filters.team:
    members = state.team_members(wh, filters.team, filters.period).height
    people_text = f"{active} of {members} team members active"
else:
    people_text = f"{active} {plural('people', active)} active"
st.markdown(f"{team_name.capitalize() if not filters.team else team_name} · {people_text} in "
            f"{filters.period.label()} · {filters.repo or 'all repositories'}"
            + ("" if filters.team else " · pick a team in the sidebar for one team's review"))
st.caption("Active: a human (bots left out) with a commit, PR or review in the period.")


@st.fragment
def week_review() -> None:
    """The week picker and what it drives (what moved most, the PRs open at the week's end): picking another
    week reruns only this part of the page."""
    weeks = state.week_choices(filters.period)
    if st.session_state.get("team_week") not in weeks:  # a new period: its newest week, box and figures alike
        st.session_state.pop("team_week", None)
    week = st.selectbox("Week", weeks, format_func=ui.week_label, key="team_week",
                        help=f"The week to review; figures compare it with the mean of the {BASELINE_WEEKS} weeks "
                             "before.")
    st.subheader("Moved most this week")
    week_moved = figures.team_moved(wh, filters, week)  # the team review's definition (evidence.team_review)
    moved = [m for m in week_moved if m.verdict is not None and m.figure.value != m.figure.previous][:5]
    if moved:
        columns = st.columns(len(moved))
        for column, m in zip(columns, moved):
            with column:
                ui.figure(m.figure, flag=m.verdict.significant,  # type: ignore[union-attr]
                          note=("Moved: " if m.verdict.significant else "Maybe noise: ") + m.verdict.reason)  # type: ignore[union-attr]
        st.caption(f"{ui.week_label(week)} against the mean of the {BASELINE_WEEKS} weeks before. ⚑ marks a change "
                   "the comparison rule holds to be more than noise: counts by an exact Poisson test (p < 0.05, on at "
                   "least 5 events), medians on at least 5 records in the week and in the weeks before and a change "
                   "of 25% or more (docs/metrics.md \"Comparisons\"). The same figures as `impactlens report --team`.")
    else:
        busy = [m.figure for m in week_moved if m.figure.value]
        uncovered = [m.figure for m in week_moved if not m.figure.comparable and m.figure.covered is not None]
        if uncovered:
            fig = uncovered[0]
            st.info(f"Nothing to compare: the data begins inside the {BASELINE_WEEKS} weeks before ({fig.name}: "
                    f"only {fig.covered:.0%} of them covered by {coverage.NOUNS.get(fig.source, 'the data')}).")
        elif busy:
            st.info("No figure changed in a way that can be compared: this week has "
                    + ", ".join(f"{f.name} {f.shown()}" for f in busy[:3])
                    + f", the {BASELINE_WEEKS} weeks before the same or no value.")
        else:
            st.info(f"Nothing to compare: no activity in this week or the {BASELINE_WEEKS} weeks before.")
    if wh.has("pull_requests"):
        at = datetime.combine(week + timedelta(days=7), time(), timezone.utc)
        with st.columns(2)[0]:  # half width, as the trends below
            ui.chart(charts.open_prs(figures.open_prs_by_age(wh, filters, at),
                                     f"the end of the week of {week:%d %b %Y}"))


week_review()

st.subheader("DORA four keys")
keys = figures.dora_summary(wh, filters)
if not wh.has("deployments"):
    ui.empty("deployments", "deployments", wh)
elif not keys or not keys.get("deployments"):
    st.info("No production deployments in this period for this team.")
else:
    def band(name: str) -> str:
        return (keys.get(name) or "no band").capitalize()

    dora = [
        ("Deployment days per week", format_value(keys["median_deploy_days_per_week"], "count"),
         f"{band('deployment_frequency_band')} · {keys['deployments']} deployments",
         "Median number of days per week with a successful production deployment."),
        ("Lead time for changes", format_value(keys["lead_time_median_hours"], "hours"),
         f"{band('lead_time_band')} · {keys['changes_deployed']} changes deployed",
         "Median time from a change's first commit to the deployment that shipped it."),
        ("Change failure rate", format_value(keys["change_failure_rate"], "share"),
         f"{band('change_failure_band')} · {keys['failed_deployments']} of {keys['deployments']} deployments",
         "Deployments followed by an incident, revert or hotfix, over all deployments."),
        ("Time to restore service", format_value(keys["time_to_restore_median_hours"], "hours"),
         f"No band (incident duration) · {keys['restored_incidents']} restored "
         f"{plural('incidents', keys['restored_incidents'])} attributed to its deployments",
         "Median time from an incident opening to its resolution."),
    ]
    for column, (label, value, caption, help_text) in zip(st.columns(4), dora):
        with column, st.container(border=True, height=ui.CARD_HEIGHT):
            st.metric(label, value, help=help_text)
            st.caption(caption)
    st.caption("Bands: the 2023/2024 Accelerate State of DevOps reports' levels (elite, high, medium, low; "
               "docs/metrics.md \"DORA four keys\"). Time to restore is an incident's duration: the reports' "
               "recovery bands are for failed deployments.")

trends = figures.team_weekly(wh, filters)
st.subheader("Trends")
panels: list[Callable[[], None]] = []  # half-width panels, two to a row
if wh.has("pull_requests"):
    panels += [lambda: ui.chart(charts.pr_size_trend(trends["size"])),
               lambda: ui.chart(charts.first_review_trend(trends["ttfr"])),
               lambda: ui.chart(charts.cycle_phases(trends["cycle"]))]
else:  # no empty charts on a git-only warehouse
    ui.no_pull_requests(wh, filters.repo)
panels.append((lambda: ui.chart(charts.review_balance(trends["load"]))) if wh.has("reviews")
              else (lambda: ui.empty("reviews", "reviews", wh)))
panels.append((lambda: ui.chart(charts.deployments_trend(trends["deployments"])))
              if wh.has("deployments") and trends["deployments"].height
              else (lambda: ui.empty("deployments", "deployments", wh)))
for row in range(0, len(panels), 2):
    for column, draw in zip(st.columns(2), panels[row:row + 2]):
        with column:
            draw()
if wh.has("incidents") and not trends["incidents"]["incidents"].sum():
    st.info("No incidents in this period" + (" led or responded to by a member of this team." if filters.team else "."))
elif wh.has("incidents"):
    left, right = st.columns(2)
    with left:
        ui.chart(charts.incidents_trend(trends["incidents"]))
    with right:
        ui.chart(charts.mttr_trend(trends["incidents"]))
else:
    ui.empty("incidents", "incidents", wh)
