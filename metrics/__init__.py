"""Metrics: the senior-engineer signals as Polars jobs over the warehouse (definitions in docs/metrics.md).

Every figure is a function from :class:`Frames` (the warehouse loaded with :func:`load`) and a
:class:`Scope` (person, team, repo, UTC date range) to a :class:`polars.LazyFrame`; most take
``by`` ('person' | 'team' | 'repo' | None) and ``grain`` ('week' | 'month' | 'quarter' | None)::

    from impactlens import warehouse, metrics
    with warehouse.read_only(db) as con:
        frames = metrics.load(con)
        scope = metrics.Scope(team="payments", start="2026-01-01", end="2026-07-01")
        sizes = metrics.pr_size(frames, scope, by="person", grain="month").collect()
        trend = metrics.with_previous(metrics.review_turnaround(frames, scope, by="team", grain="month"),
                                      ["median_hours"], grain="month").collect()

Columns called *keys* in the docstrings (person keys such as ``person_key`` or ``author_key``, and
``repo_id``, ``team_id``) are :class:`polars.Categorical` (``load(con, coded=False)``: str); see
:func:`load`. ``impactlens metrics`` materialises the same figures as ``metric_*`` tables
(docs/schema.md), where keys are stored as VARCHAR.
"""

from impactlens.metrics.calendar import business_hours, hours
from impactlens.metrics.change import before_after, with_previous
from impactlens.metrics.defects import bug_issues, classify_commits, defect_rate, szz
from impactlens.metrics.dora import changes, deployment_facts, dora
from impactlens.metrics.frames import Frames, Scope, load, period_start, with_team
from impactlens.metrics.incidents import incident_facts, incident_roles, incident_summary
from impactlens.metrics.mentoring import (
    experience, mentee_touchpoints, mentees, mentoring_summary, routine_approvals, touchpoints,
)
from impactlens.metrics.artifacts import artifact_summary, artifacts
from impactlens.metrics.ownership import bus_factor, ownership
from impactlens.metrics.pr import (
    active_people, activity, cycle_time, open_prs_by_age, pr_facts, pr_size, throughput, time_to_first_review,
)
from impactlens.metrics.review import (
    gini, human_reviews, organisation_review_load, review_cycles, review_depth, review_load, review_turnaround,
)

__all__ = [
    # loading and scoping
    "Frames", "Scope", "load", "period_start", "with_team", "business_hours", "hours",
    # pull requests
    "pr_facts", "pr_size", "time_to_first_review", "cycle_time", "activity", "throughput", "open_prs_by_age",
    "active_people",
    # reviews
    "human_reviews", "review_cycles", "review_turnaround", "review_depth", "review_load", "organisation_review_load",
    "gini",
    # incidents and DORA
    "incident_facts", "incident_roles", "incident_summary", "changes", "deployment_facts", "dora",
    # mentoring, ownership, defects
    "experience", "touchpoints", "mentoring_summary", "mentees", "mentee_touchpoints", "routine_approvals",
    "ownership", "bus_factor", "artifacts", "artifact_summary",
    "bug_issues", "classify_commits", "defect_rate", "szz",
    # change over time
    "with_previous", "before_after",
]
