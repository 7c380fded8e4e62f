"""Loop search arithmetic against a brute force: on small random cases (at most 3 rounds and
4 interviewers, every minute a candidate), the search finds exactly the itineraries the
definition allows, earliest first, each with an assignment that books."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from db.itineraries import Round, search
from db.slots import Calendar, Rules

BASE = datetime(2033, 3, 26, 20, tzinfo=UTC)  # Europe/London changes clocks that night
NOW = datetime(2030, 1, 1, tzinfo=UTC)
ZONES = ["UTC", "Europe/London", "Asia/Kolkata", "America/New_York"]
MINUTE = timedelta(minutes=1)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


interval = st.tuples(st.integers(-60, 600), st.integers(10, 90)).map(
    lambda t: (at(t[0]), at(t[0] + t[1])))
rules = st.builds(
    lambda zone, buffer, daily, hours: Rules(zone, hours, buffer, daily),
    st.sampled_from(ZONES), st.sampled_from([0, 10, 30]), st.sampled_from([None, 1, 2]),
    st.one_of(st.none(), st.just({d: [(480, 1080)] for d in (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")})))


def disjoint(intervals):
    kept = []
    for a, b in sorted(intervals):
        if not kept or a >= kept[-1][1]:
            kept.append((a, b))
    return kept


@st.composite
def cases(draw):
    people = list(range(1, draw(st.integers(1, 4)) + 1))
    calendars = {i: Calendar(draw(rules), [(a, b, 100 * i + n) for n, (a, b) in enumerate(
        disjoint(draw(st.lists(interval, max_size=3))))], draw(st.lists(interval, max_size=1)),
        held=draw(st.lists(interval, max_size=1))) for i in people}
    rounds = [Round(draw(st.sampled_from([15, 30, 45])),
                    tuple(draw(st.lists(st.sampled_from(people), min_size=1, max_size=3,
                                        unique=True))),
                    draw(st.sampled_from(["any", "all"])))
              for _ in range(draw(st.integers(1, 3)))]
    gap_min = draw(st.sampled_from([0, 5, 15]))
    return {"rounds": rounds, "calendars": calendars, "gap_min": gap_min,
            "gap_max": gap_min + draw(st.sampled_from([0, 10, 30, 60])),
            "step": draw(st.sampled_from([10, 15, 30])),
            "zone": draw(st.sampled_from([None, *ZONES])),
            "length": draw(st.sampled_from([120, 240, 600])),
            "busy": disjoint(draw(st.lists(interval, max_size=2))),
            "held": draw(st.lists(interval, max_size=1))}


def brute_force(case) -> set[tuple[datetime, ...]]:
    """Every minute as each round's start; kept when the definition holds for it."""
    end = at(case["length"])
    rounds, calendars = case["rounds"], case["calendars"]

    def free_for(n, begin):
        finish = begin + rounds[n].duration_minutes * MINUTE
        if any(a < finish and begin < b for a, b in case["busy"] + case["held"]):
            return None
        return [i for i in rounds[n].interviewer_ids
                if calendars[i].broken(begin, finish, NOW) is None]

    def assignable(starts):
        choices = []
        for n, begin in enumerate(starts):
            ids = free_for(n, begin)
            if rounds[n].mode == "all":
                if ids is None or len(ids) < len(rounds[n].interviewer_ids):
                    return False
                choices.append([tuple(ids)])
            else:
                if not ids:
                    return False
                choices.append([(i,) for i in ids])
        return any(len({i for c in combo for i in c}) == sum(len(c) for c in combo)
                   for combo in itertools.product(*choices))

    minutes = range(case["length"] + 1)
    found = set()
    for first in minutes:
        s0 = at(first)
        if (s0 - datetime(2000, 1, 1, tzinfo=UTC)) % (case["step"] * MINUTE):
            continue
        tails = [[s0]]
        for n in range(1, len(rounds)):
            grown = []
            for starts in tails:
                prev_end = starts[-1] + rounds[n - 1].duration_minutes * MINUTE
                for m in minutes:
                    s = at(m)
                    gap = (s - prev_end) // MINUTE
                    if case["gap_min"] <= gap <= case["gap_max"] \
                            and (gap - case["gap_min"]) % case["step"] == 0:
                        grown.append([*starts, s])
            tails = grown
        for starts in tails:
            last_end = starts[-1] + rounds[-1].duration_minutes * MINUTE
            if last_end > end:
                continue
            if case["zone"] is not None:
                day = Rules(case["zone"]).day_of(s0)
                if last_end > Rules(case["zone"]).day_bounds(day)[1]:
                    continue
            if assignable(starts):
                found.add(tuple(starts))
    return found


def searched(case, limit=10_000):
    return search(case["rounds"], BASE, at(case["length"]), case["step"], case["gap_min"],
                  case["gap_max"], case["zone"] and ZoneInfo(case["zone"]), case["busy"],
                  case["held"], case["calendars"], NOW, limit)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(cases())
def test_search_finds_what_the_brute_force_finds(case):
    itineraries, _ = searched(case)
    starts = [tuple(r[0] for r in it) for it in itineraries]
    assert starts == sorted(starts), "earliest first"
    assert set(starts) == brute_force(case)
    for itinerary in itineraries:
        chosen = []
        for n, (begin, finish, ids) in enumerate(itinerary):
            round_ = case["rounds"][n]
            serving = ids if round_.mode == "all" else ids[:1]
            if round_.mode == "all":
                assert sorted(ids) == sorted(round_.interviewer_ids)
            assert all(case["calendars"][i].broken(begin, finish, NOW) is None for i in serving)
            chosen += serving
        assert len(chosen) == len(set(chosen)), "one interviewer serves one round"


def test_a_later_round_that_needs_someone_gets_them():
    calendars = {1: Calendar(Rules(), [], []), 2: Calendar(Rules(), [], [])}
    rounds = [Round(30, (1, 2)), Round(30, (1,))]
    itineraries, _ = search(rounds, BASE, at(60), 15, 0, 0, None, [], [], calendars, NOW, 5)
    assert [[ids for _, _, ids in it] for it in itineraries] == [[[2], [1]]]


def test_same_day_keeps_the_loop_inside_one_local_day_across_a_clock_change():
    calendars = {1: Calendar(Rules(), [], []), 2: Calendar(Rules(), [], [])}
    rounds = [Round(60, (1,)), Round(60, (2,))]
    london = ZoneInfo("Europe/London")
    # The night of 26 to 27 March 2033: local midnight is 00:00 UTC (GMT until 01:00 UTC).
    found, _ = search(rounds, BASE, at(300), 60, 0, 0, london, [], [], calendars, NOW, 50)
    assert all(it[-1][1] <= datetime(2033, 3, 27, tzinfo=UTC) or
               it[0][0] >= datetime(2033, 3, 27, tzinfo=UTC) for it in found)
    assert (datetime(2033, 3, 26, 23, tzinfo=UTC), datetime(2033, 3, 27, 0, tzinfo=UTC)) not in [
        (it[0][0], it[0][1]) for it in found]
    assert len(found) == 3  # 20:00-22:00, 21:00-23:00 before midnight; 00:00-02:00 after


def test_held_times_and_busy_interviewee_are_counted_in_excluded():
    calendars = {1: Calendar(Rules(), [], [], held=[(at(0), at(30))])}
    _, excluded = search([Round(30, (1,))], BASE, at(90), 30, 0, 0, None,
                         [(at(60), at(90))], [(at(30), at(60))], calendars, NOW, 5)
    assert excluded["held"] == 2 and excluded["overlap"] == 1
