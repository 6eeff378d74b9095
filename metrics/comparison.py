"""Honest comparisons: when a change against an earlier period may be shown, and when it is worth a flag.

Two questions, one definition each (docs/metrics.md "Comparisons"):

* **Is the earlier period covered?** :func:`covered_share` and :func:`comparable`: a change is shown only
  when the data of the figure's source (commits for git figures, pull requests for PR figures, ...) starts
  on or before the earlier period's first day, so both periods are covered as fully. Otherwise the two
  values are shown side by side with how much of the earlier period the data covers, and no change.
* **Did it move, or is it noise?** :func:`judge` returns a :class:`Change` whose ``significant`` is the
  "moved" flag of Team health and the team review:

  - counts (PRs merged, reviews, incidents, deployments): at least :data:`MIN_EVENTS` events in the two
    periods together, and the exact conditional test of two Poisson counts (given ``a + b`` events,
    ``a ~ Binomial(a + b, t_a / (t_a + t_b))`` for exposures ``t_a``, ``t_b``; two-sided p is twice the
    smaller tail, at most 1) below :data:`ALPHA`;
  - rates (change failure rate = failed deployments / deployments): at least :data:`MIN_EVENTS` events of
    the numerator in the two periods together (failures) *and* at least :data:`MIN_EVENTS` in each
    period's denominator (deployments), and the pooled two-proportion z-test below :data:`ALPHA`;
  - medians (PR size, times): the samples are not carried, so no test: at least :data:`MIN_EVENTS`
    records in each period and a relative change of at least :data:`MIN_MEDIAN_CHANGE`.

Pure Python (``math`` only); no frame in, no frame out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from impactlens.text import counted

#: Fewest events (or records) a flag may rest on; see the module docstring for which counts.
MIN_EVENTS = 5
#: Significance level of the count and rate tests (two-sided).
ALPHA = 0.05
#: Smallest relative change of a median that may be flagged (medians have no test).
MIN_MEDIAN_CHANGE = 0.25

Kind = Literal["count", "rate", "median"]


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def covered_share(first: date | datetime | None, start: date, end: date) -> float:
    """Share (0..1) of the days ``start``..``end`` (both included, UTC) on or after ``first``, the day the
    source's data begins (its first record). 0 when the source has no data (``first`` None)."""
    if first is None:
        return 0.0
    days = (end - start).days + 1
    if days <= 0:
        return 0.0
    begin = max(_day(first), start)
    return max(0, (end - begin).days + 1) / days


def comparable(first: date | datetime | None, previous_start: date) -> bool:
    """True when the source's data begins on or before ``previous_start`` (the earlier period's first day):
    the earlier period is covered as fully as the later one, so a change between them may be shown."""
    return first is not None and _day(first) <= previous_start


@dataclass(frozen=True)
class Change:
    """The verdict on one figure's change: ``change`` relative (0.25 = +25%, None when the earlier value is
    0 or missing), ``p_value`` of the test (None for medians or below the minimum), ``significant`` (the
    "moved" flag) and ``reason``, a short plain sentence saying why (shown beside the figure)."""

    kind: Kind
    change: float | None
    p_value: float | None
    significant: bool
    reason: str


def poisson_p_value(a: int, b: int, exposure: float = 1.0) -> float:
    """Two-sided p-value that counts ``a`` (exposure ``exposure``) and ``b`` (exposure 1) come from one
    Poisson rate: the exact conditional binomial test, twice the smaller tail, at most 1.

    Example: a = 0, b = 6, equal exposure: P(X <= 0) = 0.5**6 = 1/64, p = 2/64 = 0.03125."""
    n = a + b
    if n == 0:
        return 1.0
    p0 = exposure / (exposure + 1.0)
    pmf = [math.comb(n, k) * p0 ** k * (1 - p0) ** (n - k) for k in range(n + 1)]
    low, high = sum(pmf[: a + 1]), sum(pmf[a:])
    return min(1.0, 2 * min(low, high))


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``x1/n1`` against ``x2/n2`` (1 when either
    denominator is 0 or the pooled share is 0 or 1)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def _relative(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / abs(previous)


def judge(kind: Kind, value: float | None, previous: float | None, *, count: int | None = None,
          previous_count: int | None = None, events: int | None = None, previous_events: int | None = None,
          exposure: float = 1.0, noun: str = "events") -> Change:
    """Whether ``value`` moved from ``previous`` (the rules in the module docstring).

    Args:
        kind: "count" (``value``/``previous`` are the counts; ``exposure`` = the later period's length over
            the earlier one's, e.g. 1/4 for one week against four), "rate" (``events``/``count`` and
            ``previous_events``/``previous_count`` are numerator/denominator, e.g. failed deployments of
            deployments) or "median" (``count``/``previous_count`` are the records behind each median).
        noun: what the events are, for ``reason`` ("failed deployments", "PRs").
    """
    change = _relative(value, previous)
    if value is None or previous is None:
        return Change(kind, None, None, False, "no value in one of the periods")
    if kind == "count":
        a, b = int(round(value)), int(round(previous / exposure))  # b: the earlier period's total
        if a + b < MIN_EVENTS:
            return Change(kind, change, None, False, f"{counted(a + b, noun)} in both periods together (fewer than {MIN_EVENTS})")
        p = poisson_p_value(a, b, exposure)
        return Change(kind, change, p, p < ALPHA, f"{'' if p < ALPHA else 'not significant: '}p = {p:.2f} "
                      "(exact Poisson test)")
    if kind == "rate":
        x1, n1, x2, n2 = events or 0, count or 0, previous_events or 0, previous_count or 0
        if x1 + x2 < MIN_EVENTS:
            return Change(kind, change, None, False, f"{counted(x1 + x2, noun)} in both periods together (fewer than {MIN_EVENTS})")
        if min(n1, n2) < MIN_EVENTS:
            return Change(kind, change, None, False, f"{min(n1, n2)} in the smaller denominator (fewer than {MIN_EVENTS})")
        p = two_proportion_p_value(x1, n1, x2, n2)
        return Change(kind, change, p, p < ALPHA, f"{'' if p < ALPHA else 'not significant: '}p = {p:.2f} "
                      "(two-proportion z-test)")
    n1, n2 = count or 0, previous_count or 0
    if min(n1, n2) < MIN_EVENTS:
        return Change(kind, change, None, False, f"{counted(min(n1, n2), noun)} behind one median (fewer than {MIN_EVENTS})")
    big = change is not None and abs(change) >= MIN_MEDIAN_CHANGE
    return Change(kind, change, None, big, f"{n1} and {n2} {noun}" + ("" if big else
                  f"; a change under {MIN_MEDIAN_CHANGE:.0%}"))


def period_before(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before ``start``..``end`` (both included)."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)
