"""Loop search arithmetic: the itineraries of several rounds, in order, that the booking
rules allow now. Pure, like db.slots (which it builds on): calendars in, itineraries out.

An itinerary is one slot per round. Round 1 starts on the step grid (whole multiples of
`step_minutes` counted from each midnight UTC, as availability's candidates); each next
round starts `gap_min` minutes, or a whole number of steps more, after the one before ends,
and at most `gap_max` minutes after. The whole loop lies inside [start, end]; with a `zone`
(same_day) inside one local day of it: from round 1's start to the next local midnight.
Each round is free for the interviewee (no interview, no one else's hold) and for one of its
interviewers (`any`) or all of them (`all`); nobody serves two rounds. Itineraries come
earliest first: by round 1's start, then round 2's, and so on.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from db.slots import EXCLUSIONS, MINUTE, Calendar, Interval, Rules, candidates, fairest, ms

Itinerary = list[tuple[datetime, datetime, list[int]]]


@dataclass(frozen=True)
class Round:
    duration_minutes: int
    interviewer_ids: tuple[int, ...]
    mode: str = "any"  # "any": one of them; "all": every one of them, as a panel


def search(rounds: Sequence[Round], start: datetime, end: datetime, step_minutes: int,
           gap_min: int, gap_max: int, zone: ZoneInfo | None,
           interviewee_busy: Sequence[Interval], interviewee_held: Sequence[Interval],
           calendars: dict[int, Calendar], now: datetime, limit: int
           ) -> tuple[list[Itinerary], dict[str, int]]:
    """The first `limit` itineraries (see the module), and what each rule excluded: for each
    round over the window's grid, the (candidate, interviewer) pairs, as availability counts."""
    now_ms, end_ms, step = ms(now), ms(end), step_minutes * MINUTE
    busy = [(ms(a), ms(b)) for a, b in interviewee_busy]
    held = [(ms(a), ms(b)) for a, b in interviewee_held]
    durations = [r.duration_minutes * MINUTE for r in rounds]
    free_cache: dict[tuple[int, int], list[int] | None] = {}

    def blocked(begin: int, finish: int) -> str | None:
        if any(a < finish and begin < b for a, b in busy):
            return "overlap"
        if any(a < finish and begin < b for a, b in held):
            return "held"
        return None

    def free(n: int, begin: int) -> list[int] | None:
        """Round n's interviewers free at `begin` (fairest first in `any`); None: not bookable."""
        key = (n, begin)
        if key not in free_cache:
            finish = begin + durations[n]
            ids: list[int] | None = None
            if blocked(begin, finish) is None:
                ids = [i for i in rounds[n].interviewer_ids
                       if calendars[i].broken_ms(begin, finish, now_ms) is None]
                if rounds[n].mode == "all":
                    ids = ids if len(ids) == len(rounds[n].interviewer_ids) else None
                else:
                    ids = fairest(ids, calendars, begin) or None
            free_cache[key] = ids
        return free_cache[key]

    found: list[Itinerary] = []
    for first, _ in candidates(start, end, timedelta(milliseconds=durations[0]), step_minutes):
        if len(found) >= limit:
            break
        latest = end_ms if zone is None else min(end_ms, next_midnight(first, zone))
        walk([ms(first)], latest, free, durations, gap_min * MINUTE, gap_max * MINUTE, step,
             rounds, found, limit)
    return found, excluded_counts(rounds, start, end, step_minutes, blocked, calendars, now_ms)


def walk(starts: list[int], latest: int, free, durations: list[int], gap_min: int,
         gap_max: int, step: int, rounds: Sequence[Round], found: list[Itinerary],
         limit: int) -> None:
    """Depth first in time order: the last of `starts` for its round, then each start of the
    next round; at the end, whoever can serve those times (see `assign`)."""
    n, begin = len(starts) - 1, starts[-1]
    finish = begin + durations[n]
    if finish > latest or free(n, begin) is None:
        return
    if n + 1 == len(rounds):
        taken = assign(starts, free, rounds, 0, set())
        if taken is not None:
            found.append(shown(starts, taken, free, durations, rounds))
        return
    gap = gap_min
    while gap <= gap_max and len(found) < limit:
        walk([*starts, finish + gap], latest, free, durations, gap_min, gap_max, step, rounds,
             found, limit)
        gap += step


def assign(starts: list[int], free, rounds: Sequence[Round], n: int,
           used: set[int]) -> list[list[int]] | None:
    """Who serves rounds n.. at these starts, nobody twice: every id of an `all` round, one
    of an `any` round, tried fairest first; the first assignment that works, or None."""
    if n == len(rounds):
        return []
    ids = free(n, starts[n])
    options = [ids] if rounds[n].mode == "all" else [[i] for i in ids]
    for taken in options:
        if used.isdisjoint(taken):
            rest = assign(starts, free, rounds, n + 1, used | set(taken))
            if rest is not None:
                return [taken, *rest]
    return None


def shown(starts: list[int], taken: list[list[int]], free, durations: list[int],
          rounds: Sequence[Round]) -> Itinerary:
    """An itinerary as offered: each `any` round's chosen interviewer first, then the others
    free for that round whom no other round uses."""
    used = {i for ids in taken for i in ids}
    itinerary = []
    for n, begin in enumerate(starts):
        ids = taken[n] if rounds[n].mode == "all" else \
            taken[n] + [i for i in free(n, begin) if i not in used]
        itinerary.append((instant(begin), instant(begin + durations[n]), ids))
    return itinerary


def instant(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def next_midnight(moment: datetime, zone: ZoneInfo) -> int:
    """The local midnight ending the day of `zone` that holds `moment`, in ms."""
    rules = Rules(zone.key)
    return ms(rules.day_bounds(rules.day_of(moment))[1])


def excluded_counts(rounds: Sequence[Round], start: datetime, end: datetime, step_minutes: int,
                    blocked, calendars: dict[int, Calendar], now_ms: int) -> dict[str, int]:
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    for round_ in rounds:
        duration = timedelta(minutes=round_.duration_minutes)
        for begin, finish in candidates(start, end, duration, step_minutes):
            b, f = ms(begin), ms(finish)
            why = blocked(b, f)
            if why is not None:
                excluded[why] += len(round_.interviewer_ids)
                continue
            for i in round_.interviewer_ids:
                broken = calendars[i].broken_ms(b, f, now_ms)
                if broken is not None:
                    excluded[broken[0]] += 1
    return excluded
