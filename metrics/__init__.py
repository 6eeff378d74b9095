"""Metrics: the senior-engineer signals as Polars jobs over the warehouse (definitions in docs/metrics.md).

Typical use::

    from impactlens import warehouse, metrics
    with warehouse.read_only(db) as con:
        frames = metrics.load(con)
        sizes = metrics.pr_size(frames, metrics.Scope(team="payments", start="2026-01-01"),
                                by="person", grain="month").collect()
"""

from impactlens.metrics.calendar import business_hours, hours
from impactlens.metrics.frames import Frames, Scope, load, period_start, with_team
from impactlens.metrics.pr import activity, cycle_time, pr_facts, pr_size, throughput, time_to_first_review

__all__ = [
    "Frames", "Scope", "load", "period_start", "with_team", "business_hours", "hours",
    "pr_facts", "pr_size", "time_to_first_review", "cycle_time", "activity", "throughput",
]
