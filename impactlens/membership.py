"""The team-at-a-time rule, written once: a person is in a team on day ``d`` when a ``team_memberships`` row
has ``valid_from <= d`` and (``valid_to`` is null, ongoing, or ``d < valid_to``: exclusive).

A time is taken as its UTC date. Two forms, one per place the rule is applied (tests/core/test_identity.py checks
they agree): :func:`member_on_sql` for DuckDB (``impactlens.people``) and :func:`member_on_expr` for Polars
(``impactlens.metrics.frames.with_team``). Over a period ``[start, end)`` (a team's members in a week, a
person's teams in a packet's period), a membership counts when the two overlap: :func:`overlaps_expr`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


def member_on_sql(day: str, membership: str = "m") -> str:
    """SQL condition: the ``team_memberships`` row aliased ``membership`` covers ``day`` (an SQL DATE expression,
    e.g. ``CAST(f.at AS DATE)`` or ``$day``)."""
    return (f"{membership}.valid_from <= {day} "
            f"AND ({membership}.valid_to IS NULL OR {membership}.valid_to > {day})")


def member_on_expr(day: "pl.Expr", valid_from: str = "valid_from", valid_to: str = "valid_to") -> "pl.Expr":
    """Polars condition: the membership columns ``valid_from``/``valid_to`` (Date) cover ``day`` (a Date expression)."""
    import polars as pl

    return (day >= pl.col(valid_from)) & (pl.col(valid_to).is_null() | (day < pl.col(valid_to)))


def overlaps_expr(start: Any, end: Any, valid_from: "pl.Expr | str" = "valid_from",
                  valid_to: "pl.Expr | str" = "valid_to") -> "pl.Expr":
    """Polars condition: the membership ``[valid_from, valid_to)`` overlaps the period ``[start, end)``
    (``end`` exclusive; values or expressions of the membership columns' dtype; a null ``valid_to`` is ongoing).
    """
    import polars as pl

    begins = pl.col(valid_from) if isinstance(valid_from, str) else valid_from
    ends = pl.col(valid_to) if isinstance(valid_to, str) else valid_to
    return (begins < end) & (ends.is_null() | (ends > start))
