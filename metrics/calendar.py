"""Durations in hours and in business hours (the working week and timezone of ``[business_hours]``)."""

from __future__ import annotations

from typing import Any

import polars as pl

from impactlens.errors import ConfigError

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_US_PER_DAY = 86_400_000_000
_MONDAY_US = 4 * _US_PER_DAY  # 1970-01-05, a Monday: day 0 of the business clock (microseconds)

# Scalings are multiplications by the reciprocal: Polars divides a column of more than one row by a scalar that
# way but a one-row column exactly, so `x / 3.6e9` could differ in the last bit with the frame's length (one
# repository's frame in Spark against the organisation's). Multiplying gives the same value at any length,
# the value division gave on frames of more than one row.
_PER_HOUR_US = 1 / 3.6e9
_PER_SECOND_US = 1 / 1e6
_PER_HOUR_S = 1 / 3600


def hours(start: str | pl.Expr, end: str | pl.Expr) -> pl.Expr:
    """``end - start`` in hours (Float64, exact to the microsecond; negative when end is earlier)."""
    s = pl.col(start) if isinstance(start, str) else start
    e = pl.col(end) if isinstance(end, str) else end
    return (e - s).dt.total_microseconds().cast(pl.Float64) * _PER_HOUR_US


def _minutes(text: str, key: str) -> int:
    try:
        h, m = text.split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        raise ConfigError(f"business_hours.{key} must be HH:MM (got {text!r}).") from None
    if not 0 <= value <= 24 * 60:
        raise ConfigError(f"business_hours.{key} must be between 00:00 and 24:00 (got {text!r}).")
    return value


def _business_clock(t: pl.Expr, cfg: dict[str, Any]) -> pl.Expr:
    """Business hours elapsed between the reference Monday and ``t`` (a monotone function of ``t``)."""
    workdays = cfg["workdays"]
    unknown = [d for d in workdays if d not in _DAYS]
    if unknown:
        raise ConfigError(f"business_hours.workdays has unknown days {unknown} (use {', '.join(_DAYS)}).")
    start, end = _minutes(cfg["start"], "start") * 60, _minutes(cfg["end"], "end") * 60
    if end <= start:
        raise ConfigError("business_hours.end must be later than business_hours.start.")
    is_work = [d in workdays for d in _DAYS]
    before = [sum(is_work[:k]) for k in range(7)]  # workdays in the week before weekday k
    # Integer microseconds of local wall-clock time since the reference Monday; the weekday's figures are
    # looked up by position (gather), which is several times cheaper than a mapping at millions of rows.
    local = t.dt.convert_time_zone(cfg["timezone"]).dt.replace_time_zone(None)
    micros = local.dt.epoch("us") - _MONDAY_US
    day = micros // _US_PER_DAY
    weekday = day % 7
    time_of_day = (micros - day * _US_PER_DAY).cast(pl.Float64) * _PER_SECOND_US
    days_before = (day // 7) * sum(is_work) + pl.lit(pl.Series(before, dtype=pl.Int64)).gather(weekday)
    working_today = pl.lit(pl.Series(is_work, dtype=pl.Boolean)).gather(weekday)
    within = pl.when(working_today).then(time_of_day.clip(start, end) - start).otherwise(0.0)
    return (days_before.cast(pl.Float64) * (end - start) + within) * _PER_HOUR_S


def business_hours(start: str | pl.Expr, end: str | pl.Expr, cfg: dict[str, Any]) -> pl.Expr:
    """Working hours between ``start`` and ``end`` (UTC timestamps), Float64.

    Counts only the time inside ``cfg['start']``-``cfg['end']`` (local wall clock in ``cfg['timezone']``)
    on ``cfg['workdays']``; ``cfg`` is the ``[business_hours]`` section of the configuration. Public
    holidays are not known and count as working days.

    Raises:
        ConfigError: a malformed working week (unknown day, bad HH:MM, end not after start).
    """
    s = pl.col(start) if isinstance(start, str) else start
    e = pl.col(end) if isinstance(end, str) else end
    return _business_clock(e, cfg) - _business_clock(s, cfg)
