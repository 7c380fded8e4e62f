"""Slot arithmetic: which booking rule a slot breaks, and which candidate slots are free.

Pure: plain values in (UTC instants, a zone, working hours, busy intervals), answers out;
no database, no clock. `db.schedules` feeds it from the database; a property test drives it.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# In the order a booking meets them; the first one broken is the answer.
RULES = ("overlap", "buffer", "time_off", "daily_limit", "outside_working_hours", "too_soon")


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

    def day_of(self, instant: datetime) -> date:
        """The local day holding `instant`: the one whose midnights (`day_bounds`) enclose it."""
        day = instant.astimezone(self.zone).date()
        low, high = self.day_bounds(day)
        if instant < low:
            return day - timedelta(days=1)
        if instant >= high:
            return day + timedelta(days=1)
        return day

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


def ms(instant: datetime) -> int:
    """Milliseconds since the epoch: the calendar compares integers, not datetimes."""
    return round(instant.timestamp() * 1000)


MINUTE = 60_000
LONGEST = 8 * 60 * MINUTE  # an interview lasts at most 8 hours


class Calendar:
    """One interviewer's rules with their active bookings and time off, ready to be asked
    about many slots: bookings sorted once, each local day worked out once, times compared
    as integer milliseconds (the per-slot work is a few bisections)."""

    def __init__(self, rules: Rules, bookings: Iterable[Booking],
                 time_off: Iterable[Interval]) -> None:
        self.rules = rules
        ordered = sorted(bookings)
        self.starts = [ms(b[0]) for b in ordered]
        self.ends = [ms(b[1]) for b in ordered]
        self.ids = [b[2] for b in ordered]
        self.time_off = [(ms(a), ms(b)) for a, b in time_off]
        self.buffer = rules.buffer_minutes * MINUTE
        self.notice = rules.minimum_notice_minutes * MINUTE
        self.day: tuple[int, int, int, list[tuple[int, int]]] | None = None

    def near(self, start: int, end: int) -> tuple[list[int], list[int]]:
        """Ids of the bookings overlapping [start, end), and of those within the buffer."""
        # Bookings of one interviewer never overlap each other and last at most 8 hours.
        starts, margin = self.starts, self.buffer
        first = bisect.bisect_left(starts, start - margin - LONGEST)
        last = bisect.bisect_left(starts, end + margin)
        if first == last:
            return [], []
        ends, ids = self.ends, self.ids
        close = [k for k in range(first, last) if ends[k] > start - margin]
        return [ids[k] for k in close if starts[k] < end and ends[k] > start], [ids[k] for k in close]

    def local_day(self, start: int) -> tuple[int, int, int, list[tuple[int, int]]]:
        """(midnight, next midnight, bookings starting between, working periods of that day
        and the one before) for the local day holding `start`; the last one is kept."""
        day = self.day
        if day is None or not day[0] <= start < day[1]:
            rules = self.rules
            date_ = rules.day_of(datetime.fromtimestamp(start / 1000, UTC))
            low, high = (ms(b) for b in rules.day_bounds(date_))
            count = bisect.bisect_left(self.starts, high) - bisect.bisect_left(self.starts, low)
            days = (date_ - timedelta(days=1), date_)
            periods = [] if rules.working_hours is None else [
                (ms(a), ms(b)) for d in days for a, b in rules.periods(d)]
            day = self.day = (low, high, count, periods)
        return day

    def broken(self, start: datetime, end: datetime, now: datetime,
               override: bool = False) -> tuple[str, list[int]] | None:
        """The first rule [start, end) breaks, with the interviews it collides with; or None."""
        return self.broken_ms(ms(start), ms(end), ms(now), override)

    def broken_ms(self, start: int, end: int, now: int,
                  override: bool = False) -> tuple[str, list[int]] | None:
        rules = self.rules
        clashes, close = self.near(start, end)
        if clashes:
            return "overlap", clashes
        if close:
            return "buffer", close
        if self.time_off and not override and any(
                off_start < end and start < off_end for off_start, off_end in self.time_off):
            return "time_off", []
        if rules.daily_limit is not None and self.local_day(start)[2] >= rules.daily_limit:
            return "daily_limit", []
        if rules.working_hours is not None and not override and not any(
                p_start <= start and end <= p_end for p_start, p_end in self.local_day(start)[3]):
            return "outside_working_hours", []
        if not override and start < now + self.notice:
            return "too_soon", []
        return None


def candidates(start: datetime, end: datetime, duration: timedelta,
               step_minutes: int) -> list[Interval]:
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




def offer(slots: Iterable[Interval], interviewee_busy: Sequence[Interval],
          calendars: dict[int, Calendar], now: datetime, limit: int
          ) -> tuple[list[tuple[datetime, datetime, list[int]]], dict[str, int]]:
    """The first `limit` slots where the interviewee and at least one interviewer are free,
    and, over every candidate, how many (candidate, interviewer) pairs each rule removed."""
    offered: list[tuple[datetime, datetime, list[int]]] = []
    excluded = dict.fromkeys(RULES, 0)
    taken = [(ms(a), ms(b)) for a, b in interviewee_busy]
    now_ms = ms(now)
    for start, end in slots:
        start_ms, end_ms = ms(start), ms(end)
        if taken and any(b_start < end_ms and start_ms < b_end for b_start, b_end in taken):
            excluded["overlap"] += len(calendars)
            continue
        free = []
        for interviewer_id, calendar in calendars.items():
            broken = calendar.broken_ms(start_ms, end_ms, now_ms)
            if broken is None:
                free.append(interviewer_id)
            else:
                excluded[broken[0]] += 1
        if free and len(offered) < limit:
            offered.append((start, end, free))
    return offered, excluded
