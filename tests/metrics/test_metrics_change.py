"""Change over time: previous-period values across a period boundary, and before/after windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from impactlens.metrics import before_after, time_to_first_review, with_previous
from builders import add_pr, add_review, frames_of


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


def test_with_previous_keeps_the_input_order_and_groups_by_directory():
    # Rows given newest first and groups interleaved; the output has the same rows in the same order.
    # The default group keys include directory: acme/api's 'src' and 'docs' are two groups.
    #   row  period   directory  v    previous (same directory, month before)  change
    #   0    March    src        9    6 (Feb src)                              (9 - 6) / 6 = +0.5
    #   1    March    docs       1    4 (Feb docs)                             (1 - 4) / 4 = -0.75
    #   2    February src        6    3 (Jan src)                              (6 - 3) / 3 = +1.0
    #   3    February docs       4    null (no January docs)                   null
    #   4    January  src        3    null                                     null
    frame = pl.DataFrame({
        "period_start": [utc("2024-03-01 00:00"), utc("2024-03-01 00:00"), utc("2024-02-01 00:00"),
                         utc("2024-02-01 00:00"), utc("2024-01-01 00:00")],
        "repo_id": ["acme/api"] * 5,
        "directory": ["src", "docs", "src", "docs", "src"],
        "v": [9.0, 1.0, 6.0, 4.0, 3.0],
    })
    out = with_previous(frame, ["v"], grain="month").collect()
    assert out.select(frame.columns).equals(frame)
    assert out["v_previous"].to_list() == [6.0, 4.0, 3.0, None, None]
    assert out["v_change"].to_list() == pytest.approx([0.5, -0.75, 1.0, None, None])


def test_with_previous_keeps_the_order_of_many_shuffled_rows():
    # 40 repositories x 12 months, shuffled (fixed seed): the output rows are the input rows, in order,
    # and each previous value is the same repository's value one month earlier (v = month number here,
    # so previous = v - 1, null in January).
    import random

    rows = [(utc(f"2024-{m:02d}-01 00:00"), f"r{r}", float(m)) for r in range(40) for m in range(1, 13)]
    random.Random(7).shuffle(rows)
    frame = pl.DataFrame(rows, schema=["period_start", "repo_id", "v"], orient="row")
    out = with_previous(frame, ["v"], grain="month").collect()
    assert out.select(frame.columns).equals(frame)
    assert out["v_previous"].to_list() == [None if v == 1 else v - 1 for v in frame["v"]]


def test_before_after_equal_medians_did_not_change():
    # Six 5.0 h values on each side: the median is 5.0 before and after; the change is 0, and the
    # sentence says it did not change (not "fell from 5.0 to 5.0 (+0%)").
    result = before_after(_frame([5.0] * 6, [5.0] * 6), time="t", value="hours", at=AT)
    assert result["change"] == 0.0
    assert result["summary"].startswith("Median hours did not change (5.0) in the 28 days after vs before;")
    assert "fell" not in result["summary"] and "rose" not in result["summary"]
    # A real difference still rises or falls: 5 -> 6 is +20%.
    up = before_after(_frame([5.0] * 6, [6.0] * 6), time="t", value="hours", at=AT)
    assert "rose from 5.0 to 6.0 (+20%)" in up["summary"]
