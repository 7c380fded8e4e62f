"""Slot arithmetic: which booking rule a slot breaks, and which candidate slots are free.

Pure: plain values in (UTC instants, a zone, working hours, busy intervals), answers out;
no database, no clock. `db.schedules` feeds it from the database; a property test drives it.
"""
from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# In the order a booking meets them; the first one broken is the answer.
RULES = ("overlap", "buffer", "time_off", "daily_limit", "outside_working_hours", "too_soon")
OVERRIDABLE = frozenset({"time_off", "outside_working_hours", "too_soon"})


def minutes_of(text: str) -> int:
    """"HH:MM" (00:00 to 24:00) as minutes since local midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Rules:
    """An interviewer's schedule. `working_hours` None means any time; a day absent, none."""

    time_zone: str = "UTC"
    working_hours: dict[str, list[tuple[int, int]]] | None = None
    buffer_minutes: int = 0
    daily_limit: int | None = None
    minimum_notice_minutes: int = 0
    zone: ZoneInfo = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.time_zone))

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants of the local midnights starting and ending `day`."""
        return self.at(day, 0), self.at(day + timedelta(days=1), 0)

    def at(self, day: date, minutes: int) -> datetime:
        """The UTC instant of wall-clock `minutes` after midnight on local `day`.

        A wall time skipped by a DST change takes the offset in force before it (fold=0).
        """
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minutes)
        return local.astimezone(UTC)

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of local `day` as UTC intervals."""
        assert self.working_hours is not None
        return [(self.at(day, start), self.at(day, end))
                for start, end in self.working_hours.get(DAYS[day.weekday()], [])]


Interval = tuple[datetime, datetime]
Booking = tuple[datetime, datetime, int]  # start, end, interview id


class Calendar:
    """One interviewer's rules with their active bookings and time off, ready to be asked
    about many slots (bookings sorted once, day counts and periods computed once a day)."""

    def __init__(self, rules: Rules, bookings: Iterable[Booking], time_off: Iterable[Interval]) -> None:
        self.rules = rules
        self.bookings = sorted(bookings)
        self.starts = [b[0] for b in self.bookings]
        self.time_off = sorted(time_off)
        self.per_day = Counter(rules.local_day(b[0]) for b in self.bookings)
        self.period_cache: dict[date, list[Interval]] = {}

    def near(self, start: datetime, end: datetime, margin: timedelta) -> list[Booking]:
        """Bookings within `margin` of [start, end) (overlapping it when margin is 0)."""
        # Bookings of one interviewer never overlap each other and last at most 8 hours.
        first = bisect.bisect_left(self.starts, start - margin - timedelta(hours=8))
        last = bisect.bisect_left(self.starts, end + margin)
        return [b for b in self.bookings[first:last] if b[1] > start - margin]

    def working(self, start: datetime, end: datetime) -> bool:
        day = self.rules.local_day(start)
        for candidate in (day - timedelta(days=1), day):
            periods = self.period_cache.get(candidate)
            if periods is None:
                periods = self.period_cache[candidate] = self.rules.periods(candidate)
            if any(p_start <= start and end <= p_end for p_start, p_end in periods):
                return True
        return False

    def broken(self, start: datetime, end: datetime, now: datetime,
               override: bool = False) -> tuple[str, list[int]] | None:
        """The first rule [start, end) breaks, with the interviews it collides with; or None."""
        rules = self.rules
        clashes = self.near(start, end, timedelta(0))
        if clashes:
            return "overlap", [b[2] for b in clashes]
        if rules.buffer_minutes:
            close = self.near(start, end, rules.buffer)
            if close:
                return "buffer", [b[2] for b in close]
        if not override and any(t_start < end and start < t_end for t_start, t_end in self.time_off):
            return "time_off", []
        if rules.daily_limit is not None and self.per_day[rules.local_day(start)] >= rules.daily_limit:
            return "daily_limit", []
        if not override and rules.working_hours is not None and not self.working(start, end):
            return "outside_working_hours", []
        if not override and start < now + timedelta(minutes=rules.minimum_notice_minutes):
            return "too_soon", []
        return None


def candidates(start: datetime, end: datetime, duration: timedelta, step_minutes: int) -> list[Interval]:
    """Slots of `duration` inside [start, end] starting at whole multiples of `step_minutes`
    counted from each midnight UTC."""
    found = []
    day = datetime.combine(start.astimezone(UTC).date(), time(0), tzinfo=UTC)
    while day < end:
        for minute in range(0, 1440, step_minutes):
            begin = day + timedelta(minutes=minute)
            if begin >= start and begin + duration <= end:
                found.append((begin, begin + duration))
        day += timedelta(days=1)
    return found


def busy(intervals: Sequence[Interval], start: datetime, end: datetime) -> bool:
    return any(b_start < end and start < b_end for b_start, b_end in intervals)


def offer(slots: Iterable[Interval], interviewee_busy: Sequence[Interval],
          calendars: dict[int, Calendar], now: datetime, limit: int
          ) -> tuple[list[tuple[datetime, datetime, list[int]]], dict[str, int]]:
    """The first `limit` slots where the interviewee and at least one interviewer are free,
    and, over every candidate, how many (candidate, interviewer) pairs each rule removed."""
    offered: list[tuple[datetime, datetime, list[int]]] = []
    excluded = dict.fromkeys(RULES, 0)
    for start, end in slots:
        if busy(interviewee_busy, start, end):
            excluded["overlap"] += len(calendars)
            continue
        free = []
        for interviewer_id, calendar in calendars.items():
            broken = calendar.broken(start, end, now)
            if broken is None:
                free.append(interviewer_id)
            else:
                excluded[broken[0]] += 1
        if free and len(offered) < limit:
            offered.append((start, end, free))
    return offered, excluded
