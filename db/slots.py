"""Slot arithmetic: which booking rule a slot breaks, which candidate slots are free, and
who of several free interviewers is fairest to book.

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
RULES = ("overlap", "buffer", "time_off", "daily_limit", "weekly_limit", "outside_working_hours",
         "too_soon")
# The keys of every `excluded` count: the rules, with someone else's hold after overlap.
EXCLUSIONS = ("overlap", "held", *RULES[1:])
MODES = ("any", "all")  # availability: at least one interviewer free, or every one


def minutes_of(text: str) -> int:
    """"HH:MM" (00:00 to 24:00) as minutes since local midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Rules:
    """An interviewer's schedule. `working_hours` None means any time; a day absent, none.
    `date_overrides` replace the weekday's periods on those local dates (`[]`: not working),
    with or without working hours."""

    time_zone: str = "UTC"
    working_hours: dict[str, list[tuple[int, int]]] | None = None
    buffer_minutes: int = 0
    daily_limit: int | None = None
    minimum_notice_minutes: int = 0
    weekly_limit: int | None = None
    date_overrides: dict[date, list[tuple[int, int]]] | None = None
    zone: ZoneInfo = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.time_zone))

    @property
    def restricts_hours(self) -> bool:
        """Whether some slot can be outside working hours at all."""
        return self.working_hours is not None or bool(self.date_overrides)

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

    def week_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants of the local Monday midnights around `day` (its ISO week)."""
        monday = day - timedelta(days=day.weekday())
        return self.at(monday, 0), self.at(monday + timedelta(days=7), 0)

    def at(self, day: date, minutes: int) -> datetime:
        """The UTC instant of wall-clock `minutes` after midnight on local `day`.

        A wall time skipped by a DST change takes the offset in force before it (fold=0).
        """
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minutes)
        return local.astimezone(UTC)

    def hours_of(self, day: date) -> list[tuple[int, int]] | None:
        """The working periods of local `day` in minutes (its override, else its weekday's);
        None when the day is worked at any time."""
        if self.date_overrides and day in self.date_overrides:
            return self.date_overrides[day]
        if self.working_hours is None:
            return None
        return self.working_hours.get(DAYS[day.weekday()], [])

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of local `day` as UTC intervals (a day worked at any time is
        one period, midnight to midnight)."""
        hours = self.hours_of(day)
        if hours is None:
            return [self.day_bounds(day)]
        return [(self.at(day, start), self.at(day, end)) for start, end in hours]

    def spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The periods a slot starting on local `day` may lie in: those of the day before,
        the day and the day after, where days worked at any time run on into one another
        (a slot may cross midnight between them, never into or out of a set period)."""
        found: list[tuple[datetime, datetime]] = []
        open_end = None
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            if self.hours_of(d) is None:
                low, high = self.day_bounds(d)
                if open_end == low:
                    found[-1] = (found[-1][0], high)
                else:
                    found.append((low, high))
                open_end = high
                continue
            found.extend(self.periods(d))
            open_end = None
        return found

    def reach(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """The range of bookings' starts a check of [start, end) reads: the local day (and
        week, under a weekly limit) and the buffer around the longest interview."""
        day = self.day_of(start)
        low, high = self.week_bounds(day) if self.weekly_limit else self.day_bounds(day)
        buffer = timedelta(minutes=self.buffer_minutes)
        return min(low, start - LONGEST_SPAN - buffer), max(high, end + buffer)


Interval = tuple[datetime, datetime]
# start, end, interview id, and (optional, default True) whether it counts toward limits and
# load: a shadow's seat blocks the time but does not count.
Booking = tuple[datetime, datetime, int] | tuple[datetime, datetime, int, bool]
LONGEST_SPAN = timedelta(hours=8)


def ms(instant: datetime) -> int:
    """Milliseconds since the epoch: the calendar compares integers, not datetimes."""
    return round(instant.timestamp() * 1000)


MINUTE = 60_000
DAY = 24 * 60 * MINUTE
LONGEST = 8 * 60 * MINUTE  # an interview lasts at most 8 hours
LOOKBACK = 28 * DAY  # fairness: the interviews of the 28 days before a slot
NEVER = -(2**63)  # fairness: "last interview ended" of someone who never had one


class Calendar:
    """One interviewer's rules with their active bookings and time off, ready to be asked
    about many slots: bookings sorted once, each local day and week worked out once, times
    compared as integer milliseconds (the per-slot work is a few bisections).

    `last_end_before`: the end of the last counted booking before those given (fairness
    reads how long ago someone's last interview ended; None: none, or none looked for).
    `held`: times others' holds keep this interviewer (a slot overlapping one is `held`)."""

    def __init__(self, rules: Rules, bookings: Iterable[Booking],
                 time_off: Iterable[Interval], last_end_before: datetime | None = None,
                 held: Iterable[Interval] = ()) -> None:
        self.rules = rules
        ordered = sorted(bookings, key=lambda b: (b[0], b[2]))
        self.starts = [ms(b[0]) for b in ordered]
        self.ends = [ms(b[1]) for b in ordered]
        self.ids = [b[2] for b in ordered]
        counted = [b for b in ordered if len(b) < 4 or b[3]]
        self.counted_starts = [ms(b[0]) for b in counted]
        self.counted_ends = [ms(b[1]) for b in counted]  # sorted too: bookings never overlap
        self.last_end_before = NEVER if last_end_before is None else ms(last_end_before)
        self.time_off = [(ms(a), ms(b)) for a, b in time_off]
        self.held = [(ms(a), ms(b)) for a, b in held]
        self.buffer = rules.buffer_minutes * MINUTE
        self.notice = rules.minimum_notice_minutes * MINUTE
        self.daily_limit, self.weekly_limit = rules.daily_limit, rules.weekly_limit
        self.restricts_hours = rules.restricts_hours
        self.day: tuple[int, int, int, list[tuple[int, int]]] | None = None
        self.week: tuple[int, int, int] | None = None
        self.kept_load: tuple[int, int, tuple[int, int, int]] | None = None

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
        clashes = [ids[k] for k in close if starts[k] < end and ends[k] > start]
        return clashes, [ids[k] for k in close]

    def counted_between(self, low: int, high: int) -> int:
        """How many counted bookings start in [low, high)."""
        starts = self.counted_starts
        return bisect.bisect_left(starts, high) - bisect.bisect_left(starts, low)

    def local_day(self, start: int) -> tuple[int, int, int, list[tuple[int, int]]]:
        """(midnight, next midnight, counted bookings starting between, the working spans a
        slot starting that day may lie in) for the local day holding `start`; the last one
        is kept."""
        day = self.day
        if day is None or not day[0] <= start < day[1]:
            rules = self.rules
            date_ = rules.day_of(datetime.fromtimestamp(start / 1000, UTC))
            low, high = (ms(b) for b in rules.day_bounds(date_))
            spans = [(ms(a), ms(b)) for a, b in rules.spans(date_)] if rules.restricts_hours else []
            day = self.day = (low, high, self.counted_between(low, high), spans)
        return day

    def local_week(self, start: int) -> tuple[int, int, int]:
        """(Monday midnight, next Monday midnight, counted bookings starting between) for the
        local ISO week holding `start`; the last one is kept."""
        week = self.week
        if week is None or not week[0] <= start < week[1]:
            rules = self.rules
            date_ = rules.day_of(datetime.fromtimestamp(start / 1000, UTC))
            low, high = (ms(b) for b in rules.week_bounds(date_))
            week = self.week = (low, high, self.counted_between(low, high))
        return week

    def broken(self, start: datetime, end: datetime, now: datetime, override: bool = False,
               counts: bool = True) -> tuple[str, list[int]] | None:
        """The first rule [start, end) breaks, with the interviews it collides with; or None.
        `counts` False (a shadow's seat) skips the daily and weekly limits."""
        return self.broken_ms(ms(start), ms(end), ms(now), override, counts)

    def broken_ms(self, start: int, end: int, now: int, override: bool = False,
                  counts: bool = True) -> tuple[str, list[int]] | None:
        # Asked for every (candidate, interviewer) pair of an availability window: written
        # for speed (no booking near: no list is built; the local day is looked up once).
        starts, margin = self.starts, self.buffer
        close = None
        if bisect.bisect_left(starts, start - margin - LONGEST) \
                != bisect.bisect_left(starts, end + margin):
            clashes, close = self.near(start, end)
            if clashes:
                return "overlap", clashes
        if self.held and any(h_start < end and start < h_end for h_start, h_end in self.held):
            return "held", []
        if close:
            return "buffer", close
        if self.time_off and not override:
            for off_start, off_end in self.time_off:
                if off_start < end and start < off_end:
                    return "time_off", []
        day = self.day
        if day is None or not day[0] <= start < day[1]:
            day = self.local_day(start)
        if counts:
            if self.daily_limit is not None and day[2] >= self.daily_limit:
                return "daily_limit", []
            if self.weekly_limit is not None:
                week = self.week
                if week is None or not week[0] <= start < week[1]:
                    week = self.local_week(start)
                if week[2] >= self.weekly_limit:
                    return "weekly_limit", []
        if self.restricts_hours and not override:
            for p_start, p_end in day[3]:
                if p_start <= start and end <= p_end:
                    break
            else:
                return "outside_working_hours", []
        if not override and start < now + self.notice:
            return "too_soon", []
        return None

    def load(self, start: int) -> tuple[int, int, int]:
        """How loaded the interviewer is at a slot starting at `start`, least first: counted
        bookings starting in its local ISO week, those starting in the 28 days before it,
        and when the last one before it ended (NEVER when there was none).

        Asked for each slot offered, in order: the answer is kept with the range of starts it
        holds for (to the next week, the next booking's start or end, or the next start
        leaving the 28 days), so most slots read it back instead of working it out."""
        kept = self.kept_load
        if kept is not None and kept[0] <= start < kept[1]:
            return kept[2]
        starts, ends = self.counted_starts, self.counted_ends
        week = self.week
        if week is None or not week[0] <= start < week[1]:
            week = self.local_week(start)
        entered = bisect.bisect_left(starts, start)  # constant while start <= starts[entered]
        left = bisect.bisect_left(starts, start - LOOKBACK)
        ended = bisect.bisect_right(ends, start)  # constant while start < ends[ended]
        key = (week[2], entered - left, ends[ended - 1] if ended else self.last_end_before)
        until = min(week[1],
                    starts[entered] + 1 if entered < len(starts) else week[1],
                    starts[left] + LOOKBACK + 1 if left < len(starts) else week[1],
                    ends[ended] if ended < len(ends) else week[1])
        self.kept_load = (start, until, key)
        return key


def fairest(free: list[int], calendars: dict[int, Calendar], start: int) -> list[int]:
    """`free` ordered fairest first for a slot starting at `start` (ms): fewest interviews in
    their local ISO week of the slot, then fewest in the 28 days before it, then the one whose
    last interview ended longest ago (never: first), then the lowest id. Booking the first
    of each slot is round-robin that balances load; the same data gives the same order."""
    if len(free) < 2:
        return free
    return sorted(free, key=lambda i: (*calendars[i].load(start), i))


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
          calendars: dict[int, Calendar], now: datetime, limit: int, mode: str = "any",
          interviewee_held: Sequence[Interval] = ()
          ) -> tuple[list[tuple[datetime, datetime, list[int]]], dict[str, int]]:
    """The first `limit` slots where the interviewee and at least one interviewer (`any`,
    fairest first) or every interviewer (`all`, in the order given) are free (and not held
    by someone else), and, over every candidate, how many (candidate, interviewer) pairs
    each rule removed."""
    offered: list[tuple[datetime, datetime, list[int]]] = []
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    taken = [(ms(a), ms(b)) for a, b in interviewee_busy]
    held = [(ms(a), ms(b)) for a, b in interviewee_held]
    now_ms = ms(now)
    everyone = list(calendars)
    checks = [(interviewer_id, calendar.broken_ms)
              for interviewer_id, calendar in calendars.items()]
    for start, end in slots:
        start_ms, end_ms = ms(start), ms(end)
        if taken and any(b_start < end_ms and start_ms < b_end for b_start, b_end in taken):
            excluded["overlap"] += len(calendars)
            continue
        if held and any(h_start < end_ms and start_ms < h_end for h_start, h_end in held):
            excluded["held"] += len(calendars)
            continue
        free = []
        for interviewer_id, broken_ms in checks:
            broken = broken_ms(start_ms, end_ms, now_ms)
            if broken is None:
                free.append(interviewer_id)
            else:
                excluded[broken[0]] += 1
        if len(offered) >= limit or not free:
            continue
        if mode == "all":
            if len(free) == len(everyone):
                offered.append((start, end, everyone))
        else:
            offered.append((start, end, fairest(free, calendars, start_ms)))
    return offered, excluded
