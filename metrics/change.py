"""Change over time: each figure beside its previous period's value, and before/after an initiative.

Definitions: docs/metrics.md, section "Change over time".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from impactlens.metrics.frames import GRAIN_INTERVAL, Grain, utc

#: Fewer values than this in either window and a before/after change is never called significant.
MIN_WINDOW_VALUES = 5
#: Bootstrap resamples for the confidence interval of a change in medians (fixed seed: reproducible).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20231


def with_previous(
    frame: pl.LazyFrame | pl.DataFrame, values: list[str], *, grain: Grain, keys: list[str] | None = None
) -> pl.LazyFrame:
    """``frame`` (one row per group and ``period_start``) with, for each column in ``values``,
    ``{v}_previous`` (the value in the immediately preceding period of the same group; null when that
    period has no row) and ``{v}_change`` (f64, relative change, (now - previous) / |previous|; null when
    the previous value is null or 0).

    The group is ``keys``, by default those of the columns person_key, team_id, repo_id, directory that are
    present; e.g. "review turnaround fell from 26 h to 9 h (-65%)" is ``median_hours_previous`` = 26,
    ``median_hours`` = 9, ``_change`` = -0.65. The rows keep ``frame``'s order. docs/metrics.md "Change over
    time".

    Raises:
        ValueError: ``frame`` has no ``period_start`` column.
    """
    lf = frame.lazy()
    names = lf.collect_schema().names()
    if "period_start" not in names:
        raise ValueError("with_previous needs a period_start column (compute the figure with a grain)")
    if keys is None:
        keys = [c for c in ("person_key", "team_id", "repo_id", "directory") if c in names]
    previous = lf.select(
        *keys,
        pl.col("period_start").dt.offset_by(GRAIN_INTERVAL[grain]).alias("period_start"),
        *[pl.col(v).alias(f"{v}_previous") for v in values],
    )
    out = lf.join(previous, on=[*keys, "period_start"], how="left", nulls_equal=True, maintain_order="left")
    return out.with_columns(
        pl.when(pl.col(f"{v}_previous").is_not_null() & (pl.col(f"{v}_previous") != 0))
        .then((pl.col(v) - pl.col(f"{v}_previous")) / pl.col(f"{v}_previous").abs())
        .alias(f"{v}_change")
        for v in values
    )


def before_after(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    time: str,
    value: str,
    at: datetime | str,
    window: timedelta = timedelta(days=28),
) -> dict:
    """Compare ``value`` in two equal windows before and after ``at`` (e.g. the day a CI speed-up shipped).

    ``frame`` has one row per item (a PR, a review cycle...) with a timestamp ``time`` and a figure
    ``value``. Windows: [at - window, at) and [at, at + window).

    Returns a dict: ``before`` and ``after`` (each: start, end, n, median, p25, p75, mean), ``change``
    (relative change of the median, float or None), ``ci_low``/``ci_high`` (95% bootstrap interval of
    the difference of medians, after - before, in the value's unit), ``within_noise`` (True when either
    window has fewer than 5 values or the interval contains 0), and ``summary`` (one sentence: the median
    "rose"/"fell from X to Y (±N%)", or "did not change (X)" when both medians are equal). docs/metrics.md
    "Change over time".
    """
    at_ = utc(at)
    assert at_ is not None
    lf = frame.lazy().filter(pl.col(value).is_not_null())
    parts: dict[str, dict[str, Any]] = {}
    samples = {}
    for name, lo, hi in (("before", at_ - window, at_), ("after", at_, at_ + window)):
        values = lf.filter((pl.col(time) >= lo) & (pl.col(time) < hi)).select(value).collect().to_series()
        arr = values.cast(pl.Float64).to_numpy()
        samples[name] = arr
        parts[name] = {
            "start": lo, "end": hi, "n": int(arr.size),
            "median": float(np.median(arr)) if arr.size else None,
            "p25": float(np.quantile(arr, 0.25)) if arr.size else None,
            "p75": float(np.quantile(arr, 0.75)) if arr.size else None,
            "mean": float(arr.mean()) if arr.size else None,
        }
    b, a = samples["before"], samples["after"]
    change = ci_low = ci_high = None
    if b.size and a.size:
        mb, ma = parts["before"]["median"], parts["after"]["median"]
        change = (ma - mb) / abs(mb) if mb else None
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        rb = np.median(rng.choice(b, size=(BOOTSTRAP_RESAMPLES, b.size), replace=True), axis=1)
        ra = np.median(rng.choice(a, size=(BOOTSTRAP_RESAMPLES, a.size), replace=True), axis=1)
        ci_low, ci_high = (float(x) for x in np.quantile(ra - rb, [0.025, 0.975]))
    small = min(b.size, a.size) < MIN_WINDOW_VALUES
    within_noise = small or ci_low is None or ci_high is None or (ci_low <= 0 <= ci_high)
    days = window.days
    if not b.size or not a.size:
        summary = f"Not enough data: {b.size} before and {a.size} after in {days}-day windows."
    else:
        verdict = (
            f"within the noise ({b.size} vs {a.size} values)" if within_noise
            else f"beyond the noise (95% interval {ci_low:+.1f} to {ci_high:+.1f}; {b.size} vs {a.size} values)"
        )
        mb, ma = parts["before"]["median"], parts["after"]["median"]
        if ma == mb:
            moved = f"did not change ({mb:.1f})"
        else:
            pct = f" ({change:+.0%})" if change is not None else ""
            moved = f"{'rose' if ma > mb else 'fell'} from {mb:.1f} to {ma:.1f}{pct}"
        summary = f"Median {value} {moved} in the {days} days after vs before; {verdict}."
    return {**parts, "change": change, "ci_low": ci_low, "ci_high": ci_high,
            "within_noise": within_noise, "summary": summary}
