"""The comparison rule (metrics/comparison.py, docs/metrics.md "Comparisons") on numbers worked by hand."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

from impactlens.metrics import comparison as cmp


def test_one_failure_becoming_none_is_not_flagged():
    # Change failure rate 0% (0 of 30 deployments) against 3% (1 of 33): one failure in both periods together.
    verdict = cmp.judge("rate", 0.0, 1 / 33, events=0, count=30, previous_events=1, previous_count=33,
                        noun="failed deployments")
    assert verdict.change == -1.0
    assert not verdict.significant
    assert verdict.reason == "1 failed deployment in both periods together (fewer than 5)"


def test_two_proportion_z_test_by_hand():
    # 2 of 20 (10%) against 10 of 20 (50%): pooled 12/40 = 0.3; se = sqrt(0.3 * 0.7 * (1/20 + 1/20)) = 0.144914;
    # z = -0.4 / 0.144914 = -2.7603; p = erfc(2.7603 / sqrt 2) = 0.00577.
    assert math.isclose(cmp.two_proportion_p_value(2, 20, 10, 20), 0.00577, abs_tol=5e-5)
    verdict = cmp.judge("rate", 0.1, 0.5, events=2, count=20, previous_events=10, previous_count=20)
    assert verdict.significant and verdict.p_value < 0.05
    # Enough failures but only 4 deployments in one period: the denominator is too small.
    assert not cmp.judge("rate", 0.5, 0.1, events=2, count=4, previous_events=5, previous_count=50).significant


def test_exact_poisson_test_by_hand():
    # 0 against 6 with equal exposure: P(X <= 0) = 1/64, doubled = 0.03125 < 0.05: moved.
    assert cmp.poisson_p_value(0, 6) == 2 / 64
    assert cmp.judge("count", 0, 6).significant
    # 0 against 5: p = 2/32 = 0.0625: not significant, although -100%.
    five = cmp.judge("count", 0, 5)
    assert five.change == -1.0 and not five.significant and five.p_value == 2 / 32
    # 1 against 0: one event, fewer than the minimum of 5.
    assert cmp.judge("count", 1, 0, noun="incidents").reason == "1 incident in both periods together (fewer than 5)"
    # 10 this week against a mean of 2 over four weeks (8 in total): a ~ Bin(18, 1/5);
    # P(X >= 10) = P(10) + P(11) + ... with P(k) = C(18,k) 0.2^k 0.8^(18-k):
    # 43758 * 1.718e-8 = 7.518e-4, 31824 * 4.295e-9 = 1.367e-4, 18564 * 1.074e-9 = 1.993e-5, 2.30e-6, 2.1e-7, ...
    # = 0.000911, p = 0.00182.
    tail = sum(math.comb(18, k) * 0.2 ** k * 0.8 ** (18 - k) for k in range(10, 19))
    assert math.isclose(tail, 0.000911, abs_tol=5e-6)
    verdict = cmp.judge("count", 10, 2.0, exposure=1 / 4)
    assert math.isclose(verdict.p_value, 2 * tail) and verdict.significant


def test_medians_need_records_in_both_periods_and_a_quarter_of_change():
    assert not cmp.judge("median", 200, 30, count=1, previous_count=1).significant  # +567% on one PR each
    assert cmp.judge("median", 200, 100, count=5, previous_count=6).significant
    assert not cmp.judge("median", 110, 100, count=50, previous_count=60).significant  # +10%


def test_coverage_of_the_earlier_period():
    # Data from 2024-02-09; the earlier quarter 2024-01-01 .. 2024-03-31 (91 days): 52 of 91 days covered.
    first = datetime(2024, 2, 9, 15, 0, tzinfo=timezone.utc)
    assert math.isclose(cmp.covered_share(first, date(2024, 1, 1), date(2024, 3, 31)), 52 / 91)
    assert not cmp.comparable(first, date(2024, 1, 1))
    assert cmp.comparable(first, date(2024, 2, 9)) and cmp.comparable(first, date(2024, 3, 1))
    assert cmp.covered_share(None, date(2024, 1, 1), date(2024, 3, 31)) == 0.0
    assert cmp.period_before(date(2024, 4, 1), date(2024, 6, 30)) == (date(2024, 1, 1), date(2024, 3, 31))  # 91 days each (2024 is a leap year)


def test_twelve_deployments_against_two_is_flagged():
    # 12 against 2 deployments (one week each): 14 events, P(X >= 12 | n = 14, 1/2) = (C(14,12) + C(14,13) + 1) / 2^14
    # = (91 + 14 + 1) / 16384 = 0.00647, p = 0.0129 < 0.05: flagged.
    verdict = cmp.judge("count", 12, 2, noun="deployments")
    assert verdict.significant and math.isclose(verdict.p_value or 0, 2 * 106 / 16384)
