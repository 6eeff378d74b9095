"""The one date parser of the command line: every ``--since``, ``--until``, ``--date``, ``--at`` and
``--week`` goes through here, so every command accepts the same forms and rejects the same mistakes.

Accepted forms (all UTC):

* a day: ISO ``YYYY-MM-DD`` only (``2025-01-02``). ``01/02/2025`` is refused rather than guessed
  (2 January or 1 February?), and so are ``2024-13-45``, ``20250102`` and words such as ``yesterday``:
  git would read them with its approximate parser and quietly collect a different range.
* a week (where a week is meant): an ISO week ``2026-W14`` (Monday to Sunday) or any day in it.

A day after today is accepted with a warning on stderr (``future_warning``), since it is almost always
a typo (``2062`` for ``2026``). Errors are :class:`DateError` (one line, exit code 2).
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from impactlens.errors import ImpactlensError

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_SLASHED = re.compile(r"\d{1,4}[/.]\d{1,2}[/.]\d{1,4}")


class DateError(ImpactlensError):
    """A date option is not an ISO date (or week); the message names the option and the expected form."""


def today() -> date:
    """Today's date in UTC (the day every period and warning is measured against)."""
    return datetime.now(timezone.utc).date()


def _warn(message: str) -> None:
    print(f"impactlens: warning: {message}", file=sys.stderr)


def parse_day(text: str | date | None, option: str = "date", *,
              warn: Callable[[str], None] | None = _warn) -> date | None:
    """``text`` (``YYYY-MM-DD``) as a :class:`datetime.date`; None stays None; a ``date`` passes through.

    ``option`` names the input in messages (``--since``). A day after today (UTC) calls ``warn`` with a
    one-line warning (default: printed on stderr; None: silent) and is still returned.

    Raises:
        DateError: anything else, with a message that says why and what to write instead.
    """
    if text is None or isinstance(text, date):
        day = text
    else:
        value = text.strip()
        match = _DAY.fullmatch(value)
        if not match:
            raise DateError(f"{option} {text!r} is not a date: {_hint(value)}")
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise DateError(f"{option} {text!r} is not a date ({exc}); write YYYY-MM-DD.") from None
    if day is not None and warn is not None and day > today():
        warn(f"{option} {day.isoformat()} is in the future (today is {today().isoformat()} UTC); "
             "nothing has happened after it yet.")
    return day


def parse_week(text: str | date, option: str = "--week", *,
               warn: Callable[[str], None] | None = _warn) -> date:
    """The Monday of the ISO week ``text`` names: ``2026-W14`` or ``YYYY-MM-DD`` (a day in the week).

    Raises:
        DateError: neither form, or a week number the year does not have (``2026-W54``).
    """
    if isinstance(text, date):
        return text - timedelta(days=text.weekday())
    match = _WEEK.fullmatch(text.strip())
    if match:
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise DateError(f"{option} {text!r}: {match[1]} has no ISO week {int(match[2])}; "
                            "weeks run from W01 to W52 or W53.") from None
        parse_day(monday, option, warn=warn)
        return monday
    if not _DAY.fullmatch(text.strip()):
        raise DateError(f"{option} {text!r} is neither an ISO week (2026-W14) nor a date (2026-04-01).")
    day = parse_day(text, option, warn=warn)
    assert day is not None
    return day - timedelta(days=day.weekday())


def git_since(day: date) -> str:
    """``day`` as the exact instant git's ``--since`` should get: midnight UTC, never an approximate date
    (git fills a bare ``2025-01-02`` with the current time of day)."""
    return f"{day.isoformat()}T00:00:00+00:00"


def _hint(value: str) -> str:
    if _SLASHED.fullmatch(value):
        return "day and month order is ambiguous; write YYYY-MM-DD (2025-01-02 for 2 January 2025)."
    if re.fullmatch(r"\d{8}", value):
        return f"write it with dashes, YYYY-MM-DD ({value[:4]}-{value[4:6]}-{value[6:]})."
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
        return "months and days take two digits; write YYYY-MM-DD."
    if "T" in value or ":" in value:
        return "give a day, YYYY-MM-DD (periods are whole days, UTC)."
    return "write YYYY-MM-DD (for example 2025-01-02)."
