"""Property tests: invariants of the PR timing facts, business hours and the Gini coefficient."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impactlens import warehouse
from impactlens.metrics import business_hours, gini, hours, pr_facts
from test_metrics_builders import add_deployment, add_event, add_pr, add_review, frames_of

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
minutes = st.integers(min_value=0, max_value=60 * 24 * 20)


def at(offset: int) -> str:
    return (T0 + timedelta(minutes=offset)).strftime("%Y-%m-%d %H:%M")


pr_strategy = st.fixed_dictionaries({
    "first_commit_before": st.one_of(st.none(), st.integers(0, 60 * 24 * 5)),
    "created": minutes,
    "ready_after": st.one_of(st.none(), st.integers(0, 60 * 48)),
    "reviews": st.lists(st.tuples(st.sampled_from(["bob", "author", "dependabot[bot]"]), st.integers(-600, 60 * 72)),
                        max_size=4),
    "merged_after": st.one_of(st.none(), st.integers(0, 60 * 24 * 6)),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prs=st.lists(pr_strategy, min_size=1, max_size=5),
       deploys=st.lists(st.integers(0, 60 * 24 * 40), max_size=4))
def test_phases_add_up_to_cycle_time(prs, deploys):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    warehouse.migrate(con)
    for n, pr in enumerate(prs, start=1):
        created = pr["created"]
        ready = created + pr["ready_after"] if pr["ready_after"] is not None else None
        end = (ready if ready is not None else created)
        merged = end + pr["merged_after"] if pr["merged_after"] is not None else None
        extra = {}
        if pr["first_commit_before"] is not None:
            extra["first_commit_at"] = at(created - pr["first_commit_before"])
        if merged is not None:
            extra["merged_at"] = at(merged)
        add_pr(con, n, "alice", at(created), **extra)
        if ready is not None:
            add_event(con, n, "ready_for_review", at(ready))
        for k, (who, offset) in enumerate(pr["reviews"]):
            add_review(con, n, "alice" if who == "author" else who, at(created + offset),
                       reviewer_is_bot=who.endswith("[bot]"), review_id=f"r{n}-{k}")
    for i, offset in enumerate(deploys):
        add_deployment(con, f"d{i}", at(offset))
    facts = pr_facts(frames_of(con)).collect()
    con.close()
    for row in facts.iter_rows(named=True):
        assert row["ready_at"] is not None  # no PR here is an open draft
        if row["first_response_at"] is not None:
            assert row["first_response_at"] >= row["ready_at"]
            assert row["time_to_first_review_hours"] >= 0
            assert 0 <= row["time_to_first_review_business_hours"] <= row["time_to_first_review_hours"] + 1e-9
        if row["merged_at"] is None:
            assert row["cycle_time_to_merge_hours"] is None
            continue
        phases = [row["coding_hours"], row["pickup_hours"], row["review_hours"]]
        assert all(p >= 0 for p in phases)
        assert sum(phases) == pytest.approx(row["cycle_time_to_merge_hours"], abs=1e-6)
        if row["deployed_at"] is not None:
            assert row["deploy_hours"] >= 0
            assert sum(phases) + row["deploy_hours"] == pytest.approx(row["cycle_time_hours"], abs=1e-6)
        else:
            assert row["cycle_time_hours"] is None
        # Only a human other than the author ends the wait, or the merge.
        assert row["first_response_kind"] in ("review", "merge")


instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc))


@settings(max_examples=100, deadline=None)
@given(points=st.lists(instants, min_size=3, max_size=3),
       tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
       days=st.sampled_from([["Mon", "Tue", "Wed", "Thu", "Fri"], ["Sun", "Mon", "Tue", "Wed", "Thu"], ["Sat"]]))
def test_business_hours_are_additive_and_bounded(points, tz, days):
    a, b, c = sorted(points)
    cfg = {"workdays": days, "start": "09:00", "end": "17:30", "timezone": tz}
    df = pl.DataFrame({"a": [a], "b": [b], "c": [c]}, schema={k: pl.Datetime("us", "UTC") for k in "abc"})
    out = df.select(
        ab=business_hours("a", "b", cfg), bc=business_hours("b", "c", cfg), ac=business_hours("a", "c", cfg),
        h=hours("a", "c"),
    ).row(0, named=True)
    assert out["ab"] >= -1e-9 and out["bc"] >= -1e-9
    assert out["ab"] + out["bc"] == pytest.approx(out["ac"], abs=1e-6)
    # A DST change can add an hour of wall clock inside working hours.
    assert out["ac"] <= out["h"] + 1.0 + 1e-9
    # Never more than the working day's length per calendar day touched.
    span_days = (c - a).days + 2
    assert out["ac"] <= span_days * 8.5 + 1e-9


@given(values=st.lists(st.integers(0, 1000), min_size=1, max_size=30), scale=st.integers(1, 7))
def test_gini_bounds_and_scale_invariance(values, scale):
    df = pl.DataFrame({"x": values, "y": [v * scale for v in values]})
    out = df.select(g=gini(pl.col("x")), gs=gini(pl.col("y"))).row(0, named=True)
    if sum(values) == 0:
        assert out["g"] is None
        return
    n = len(values)
    assert -1e-12 <= out["g"] <= (n - 1) / n + 1e-12
    assert out["g"] == pytest.approx(out["gs"])
