"""Change over time: previous-period values across a period boundary, and before/after windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from impactlens.metrics import before_after, time_to_first_review, with_previous
from test_metrics_builders import add_pr, add_review, frames_of


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def monthly(con):
    # January: waits of 26 h and 30 h; the second PR became ready on Jan 31 and was reviewed on Feb 2, so
    # it belongs to January (the month its wait started). February: 9 h and 9 h. March: nothing. April: 5 h.
    waits = [("2024-01-10 10:00", "2024-01-11 12:00"), ("2024-01-31 20:00", "2024-02-02 02:00"),
             ("2024-02-05 10:00", "2024-02-05 19:00"), ("2024-02-06 10:00", "2024-02-06 19:00"),
             ("2024-04-02 10:00", "2024-04-02 15:00")]
    for number, (ready, reviewed) in enumerate(waits, start=1):
        add_pr(con, number, "alice", ready)
        add_review(con, number, "bob", reviewed)
    return frames_of(con)


def test_previous_period_and_relative_change(monthly):
    figures = time_to_first_review(monthly, by="repo", grain="month")
    out = with_previous(figures, ["median_hours", "prs"], grain="month").sort("period_start").collect()
    rows = {r["period_start"]: r for r in out.iter_rows(named=True)}
    jan, feb, apr = rows[utc("2024-01-01 00:00")], rows[utc("2024-02-01 00:00")], rows[utc("2024-04-01 00:00")]
    assert (jan["prs"], jan["median_hours"]) == (2, pytest.approx(28.0))
    assert jan["median_hours_previous"] is None and jan["median_hours_change"] is None
    # "fell from 28 h to 9 h (-68%)"
    assert feb["median_hours_previous"] == pytest.approx(28.0)
    assert feb["median_hours_change"] == pytest.approx((9 - 28) / 28)
    # March had no PRs: April's previous value is unknown, not February's.
    assert apr["median_hours_previous"] is None


def test_with_previous_needs_periods():
    with pytest.raises(ValueError, match="period_start"):
        with_previous(pl.DataFrame({"x": [1]}), ["x"], grain="week")


AT = utc("2024-03-01 00:00")


def _frame(before: list[float], after: list[float]) -> pl.DataFrame:
    times = [AT - timedelta(days=1 + i) for i in range(len(before))] + [AT + timedelta(days=i) for i in range(len(after))]
    return pl.DataFrame({"t": times, "hours": [*before, *after]})


def test_before_after_clear_change():
    result = before_after(_frame([20, 21, 22, 23, 24, 25, 26, 27, 28, 29], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
                          time="t", value="hours", at=AT, window=timedelta(days=28))
    assert (result["before"]["n"], result["after"]["n"]) == (10, 10)
    assert result["before"]["median"] == pytest.approx(24.5)
    assert result["after"]["median"] == pytest.approx(9.5)
    assert result["before"]["p25"] == pytest.approx(22.25)
    assert result["change"] == pytest.approx((9.5 - 24.5) / 24.5)
    assert result["within_noise"] is False
    assert result["ci_high"] < 0
    assert "fell from 24.5 to 9.5 (-61%)" in result["summary"] and "beyond the noise" in result["summary"]


def test_before_after_within_the_noise():
    noisy = before_after(_frame([10, 30, 12, 28, 11, 29], [11, 29, 13, 27, 10, 30]), time="t", value="hours",
                         at=AT, window=timedelta(days=28))
    assert noisy["within_noise"] is True
    assert noisy["ci_low"] <= 0 <= noisy["ci_high"]
    # Too few values is never called a change, however large.
    few = before_after(_frame([100, 100, 100], [1, 1, 1]), time="t", value="hours", at=AT)
    assert few["within_noise"] is True and "within the noise (3 vs 3 values)" in few["summary"]
    # Values outside the windows are ignored; an empty side says so.
    empty = before_after(_frame([1, 2], []), time="t", value="hours", at=AT)
    assert empty["after"]["n"] == 0 and empty["summary"].startswith("Not enough data")
