"""My impact: one person's figures against the previous period, weekly charts, and the records behind them.

The person picker and everything that depends on it are one ``st.fragment``: choosing another person reruns
that part only, not the sidebar. The records are tabs whose hidden bodies are neither run nor sent
(:func:`impactlens.dashboard.ui.lazy_tabs`): only the open tab's table reaches the browser, and switching tabs
or the sort order reruns the records only (a fragment inside the person's). The tables are Markdown
(:func:`impactlens.dashboard.ui.link_table`), far lighter for the browser than a data grid."""

from __future__ import annotations

import streamlit as st

from impactlens.dashboard import charts, figures, ui

wh, filters = ui.context()
st.title("My impact")
st.caption("What you shipped, reviewed, fixed and mentored, with the records behind every number.")

TABS = ["Pull requests", "Reviews given", "Incidents", "Artifacts", "Mentoring"]


@st.fragment
def person_view() -> None:
    """The person picker and the person's figures, charts and records: a new person reruns this part only.
    The picker checks the viewer's access (dashboard/access.py) before anything of the person is drawn."""
    person = ui.person_picker(wh, filters, key="my_impact_person")
    if person is None:
        return
    period, repo = filters.period, filters.repo
    ui.person_context(wh, filters, person)
    if not wh.has("commits") and not wh.has("pull_requests"):
        ui.empty("commits or pull requests", "commits")
    ui.figures(figures.person_figures(wh, person, period, repo))

    weekly = figures.person_weekly(wh, person, period, repo)
    left, right = st.columns(2)
    if wh.has("pull_requests"):
        with left:
            ui.chart(charts.person_activity(weekly))
        with right:
            ui.chart(charts.person_pr_size(weekly))
    else:  # git only: commits per week, and no empty PR charts
        with left:
            ui.chart(charts.person_commits(weekly))
        with right:
            ui.no_pull_requests(wh, repo)
    records(person)


@st.fragment
def records(person: str) -> None:
    """The records behind the figures, a tab each (their counts in the labels); only the open tab's body runs."""
    period, repo = filters.period, filters.repo
    prs = figures.person_prs(wh, person, period, repo)
    reviews = figures.person_reviews(wh, person, period, repo)
    incidents = figures.person_incidents(wh, person, period, repo)
    written = figures.artifacts(wh, person, period, repo)
    mentees = figures.mentoring(wh, person, period, repo)
    tab, shown = ui.lazy_tabs(TABS, [prs.height, reviews.height, incidents.height, written.height, mentees.height],
                              key="my_impact_tab")
    with tab:
        if shown == "Pull requests":
            pull_requests(person, prs)
        elif shown == "Reviews given":
            ui.records(wh, reviews.select("url", "title", "author", "state", "comments", "submitted_at"),
                       table="reviews", none="No reviews given by this person in this period.",
                       dates=("submitted_at",), labels={"url": "Review", "author": "PR author"},
                       sort={"Newest first": ("submitted_at", True), "Oldest first": ("submitted_at", False),
                             "Most comments first": ("comments", True)},
                       key="my_impact_review_sort")
        elif shown == "Incidents":
            ui.records(wh, incidents.select("url", "incident_id", "title", "role", "severity", "opened_at",
                                            "time_to_restore_hours", "has_postmortem"),
                       table="incidents", none="No incidents led or responded to by this person in this period.",
                       dates=("opened_at",), hours=("time_to_restore_hours",),
                       labels={"url": "Incident", "time_to_restore_hours": "Time to restore",
                               "has_postmortem": "Postmortem"})
        elif shown == "Artifacts":
            if written.height:
                ui.link_table(written.with_columns(written["sha"].str.slice(0, 10)), dates=("authored_at",),
                              labels={"sha": "Commit", "path": "File", "repo_id": "Repository"})
            else:
                st.info("No ADRs, design docs, runbooks or postmortems added by this person in this period "
                        "(file categories come from `[categories]` in impactlens.toml).")
        elif mentees.height:
            names = mentees.with_columns(
                mentees["mentee_key"].map_elements(wh.name, return_dtype=str).alias("person"))
            ui.link_table(names.select("person", "is_mentee", "touchpoints", "weeks", "reviews", "review_comments",
                                       "pairing"),
                          labels={"pairing": "Co-authored commits", "is_mentee": "Mentee",
                                  "weeks": "Weeks with touchpoints"})
            st.caption("Less experienced colleagues (lower level, or later first contribution) and newcomers on their "
                       "first five PRs whose work this person reviewed, commented on or co-authored; three touchpoints "
                       "or more, spread over two weeks or more, make a mentee (three comments in one afternoon are "
                       "not a relationship; docs/metrics.md).")
        else:
            st.info("No reviews, comments or pairing on less experienced colleagues' work in this period.")


def pull_requests(person: str, prs) -> None:
    """The Pull requests tab: the person's PRs created or merged in the period; on a git-only warehouse, their
    commits and the command that collects pull requests."""
    period, repo = filters.period, filters.repo
    if prs.height:
        ui.link_table(prs.select("url", "title", "state", "created_at", "merged_at", "changed_lines",
                                 "time_to_first_review_hours"),
                      dates=("created_at", "merged_at"), hours=("time_to_first_review_hours",),
                      labels={"url": "Pull request", "changed_lines": "Changed lines",
                              "time_to_first_review_hours": "Time to first review"},
                      sort={"Newest first": ("created_at", True), "Oldest first": ("created_at", False),
                            "Largest first": ("changed_lines", True),
                            "Longest wait for a first review": ("time_to_first_review_hours", True)},
                      key="my_impact_pr_sort")
    elif wh.has("pull_requests"):
        st.info("No pull requests by this person in this period.")
    else:
        commits = figures.person_commits(wh, person, period, repo)
        ui.empty("pull requests (showing commits from git)", "pull_requests")
        if commits.height:
            ui.link_table(commits, dates=("authored_at",), labels={"sha": "Commit", "lines": "Changed lines"})


person_view()
