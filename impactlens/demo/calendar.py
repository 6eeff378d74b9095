"""Working time for the demo's people: weekdays, public holidays, vacations and office hours in their timezone."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from impactlens.demo.cast import END, HOLIDAYS, START, Person

UTC = timezone.utc
DAY_START = time(9, 0)
DAY_END = time(18, 0)


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def days(start: date = START, end: date = END):
    """Every day from ``start`` to ``end`` inclusive."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def utc(local: datetime) -> datetime:
    """``local`` (aware) in UTC, whole seconds."""
    return local.astimezone(UTC).replace(microsecond=0)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


class Calendar:
    """Who works when: two vacation blocks a year per person, drawn once from ``rng``."""

    def __init__(self, people: tuple[Person, ...], rng: random.Random) -> None:
        self.people = {p.person_id: p for p in people}
        self.index = {p.person_id: k for k, p in enumerate(people)}
        self._windows: dict[tuple[str, date], tuple[datetime, datetime] | None] = {}
        self.vacations: dict[str, frozenset[date]] = {}
        for person in people:
            off: set[date] = set()
            for year in (2025, 2026):
                for _ in range(2):
                    first = date(year, 1, 1) + timedelta(days=rng.randrange(20, 330))
                    off.update(first + timedelta(days=k) for k in range(rng.randint(5, 12)))
            self.vacations[person.person_id] = frozenset(off)

    def employed(self, person: Person, day: date) -> bool:
        return (person.start is None or person.start <= day) and (person.end is None or day <= person.end)

    def is_workday(self, person: Person, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in HOLIDAYS[person.region]
            and day not in self.vacations[person.person_id]
            and self.employed(person, day)
        )

    def work_time(self, person: Person, day: date, rng: random.Random) -> datetime:
        """A moment on ``day`` in ``person``'s office hours (peaks late morning and mid-afternoon), in UTC."""
        if rng.random() < 0.04:
            hour = rng.uniform(19.0, 23.0)  # the occasional evening push
        else:
            hour = min(17.9, max(8.5, rng.gauss(rng.choice((10.8, 14.8)), 1.3)))
        local = datetime.combine(day, time(0), zone(person.tz)) + timedelta(seconds=int(hour * 3600))
        return utc(local)

    def _window(self, person: Person, day: date) -> tuple[datetime, datetime] | None:
        """``person``'s office hours on ``day`` (local date) in UTC, or None when it is no workday (cached)."""
        key = (person.person_id, day)
        if key in self._windows:
            return self._windows[key]
        window = None
        if self.is_workday(person, day):
            tz = zone(person.tz)
            # People start their day between 08:30 and 09:30, differently each day.
            late = (day.toordinal() * 7 + self.index.get(person.person_id, 0) * 13) % 60
            start = datetime.combine(day, DAY_START, tz) + timedelta(minutes=late - 30)
            window = (start.astimezone(UTC), datetime.combine(day, DAY_END, tz).astimezone(UTC))
        self._windows[key] = window
        return window

    def add_working_hours(self, person: Person, at: datetime, hours: float) -> datetime:
        """``at`` plus ``hours`` of ``person``'s office hours (about 09:00-18:00 local on their workdays), in UTC.

        Gives up after 60 calendar days (someone who left or is on a long leave) and returns that moment.
        """
        day = at.astimezone(zone(person.tz)).date()
        moment = at
        remaining = hours * 3600.0
        for _ in range(60):
            window = self._window(person, day)
            if window is not None:
                start, end = window
                if moment < start:
                    moment = start
                if moment < end:
                    available = (end - moment).total_seconds()
                    if remaining <= available:
                        return (moment + timedelta(seconds=remaining)).replace(microsecond=0)
                    remaining -= available
            day += timedelta(days=1)
        return datetime.combine(day, time(0), zone(person.tz)).astimezone(UTC)

    def workdays_before(self, person: Person, at: datetime, count: int, rng: random.Random) -> datetime:
        """A moment in ``person``'s office hours ``count`` workdays before ``at`` (before ``at`` itself)."""
        day = at.astimezone(zone(person.tz)).date()
        for _ in range(60):
            if count <= 0:
                break
            day -= timedelta(days=1)
            if self.is_workday(person, day):
                count -= 1
        moment = self.work_time(person, day, rng)
        if moment >= at:
            moment = at - timedelta(minutes=rng.randint(15, 120))
        return moment
