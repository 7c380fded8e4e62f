"""The pure slot arithmetic: rules in order, local days and working hours across zones and DST."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.slots import Calendar, Rules, candidates, offer

NINE_TO_FIVE = {day: [(9 * 60, 17 * 60)] for day in ("monday", "tuesday", "wednesday", "thursday",
                                                    "friday", "saturday", "sunday")}
PAST = datetime(2000, 1, 1, tzinfo=UTC)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def free_starts(rules: Rules, day: datetime, minutes: int = 60) -> list[datetime]:
    calendar = Calendar(rules, [], [])
    return [s for s, e in candidates(day, day + timedelta(days=1), timedelta(minutes=minutes), 15)
            if calendar.broken(s, e, PAST) is None]


def test_london_working_hours_follow_dst_in_march_and_october():
    rules = Rules("Europe/London", NINE_TO_FIVE)
    # Saturday 29 March 2025 is GMT, Monday 31 March BST (the change is Sunday the 30th).
    assert free_starts(rules, at(2025, 3, 29))[0] == at(2025, 3, 29, 9)
    assert free_starts(rules, at(2025, 3, 29))[-1] == at(2025, 3, 29, 16)
    assert free_starts(rules, at(2025, 3, 31))[0] == at(2025, 3, 31, 8)
    assert free_starts(rules, at(2025, 3, 31))[-1] == at(2025, 3, 31, 15)
    # Back on Sunday 26 October 2025.
    assert free_starts(rules, at(2025, 10, 25))[0] == at(2025, 10, 25, 8)
    assert free_starts(rules, at(2025, 10, 27))[0] == at(2025, 10, 27, 9)


def test_half_and_three_quarter_hour_offsets():
    kolkata = free_starts(Rules("Asia/Kolkata", NINE_TO_FIVE), at(2031, 1, 1, 0))
    assert kolkata[0] == at(2031, 1, 1, 3, 30) and kolkata[-1] == at(2031, 1, 1, 10, 30)
    kathmandu = free_starts(Rules("Asia/Kathmandu", NINE_TO_FIVE), at(2031, 1, 1, 0))
    # 09:00 +05:45 is 03:15 UTC: on a 15-minute grid.
    assert kathmandu[0] == at(2031, 1, 1, 3, 15) and kathmandu[-1] == at(2031, 1, 1, 10, 15)


def test_a_window_crossing_midnight_and_a_month_end():
    night = Rules("America/New_York", {"saturday": [(22 * 60, 24 * 60)], "sunday": [(0, 2 * 60)]})
    # Saturday 31 Jan 2032 22:00 EST (03:00 UTC 1 Feb) to Sunday 1 Feb 02:00 EST.
    calendar = Calendar(night, [], [])
    starts = [s for s, e in candidates(at(2032, 2, 1), at(2032, 2, 1, 8), timedelta(hours=1), 60)
              if calendar.broken(s, e, PAST) is None]
    # Saturday 22:00-24:00 EST is 03:00-05:00 UTC on 1 February; Sunday 00:00-02:00 follows.
    assert starts == [at(2032, 2, 1, 3), at(2032, 2, 1, 4), at(2032, 2, 1, 5), at(2032, 2, 1, 6)]
    # ...but not 23:30-00:30: a slot must lie inside one period.
    assert calendar.broken(at(2032, 2, 1, 4, 30), at(2032, 2, 1, 5, 30), PAST)[0] \
        == "outside_working_hours"


def test_rules_in_order_and_their_edges():
    start, end = at(2031, 1, 6, 10), at(2031, 1, 6, 11)
    rules = Rules("UTC", NINE_TO_FIVE, buffer_minutes=10, daily_limit=2, minimum_notice_minutes=60)
    booked = [(at(2031, 1, 6, 11, 5), at(2031, 1, 6, 11, 30), 7)]
    assert Calendar(rules, booked, []).broken(start, end, PAST) == ("buffer", [7])
    exactly = [(at(2031, 1, 6, 11, 10), at(2031, 1, 6, 11, 30), 7)]
    assert Calendar(rules, exactly, []).broken(start, end, PAST) is None
    assert Calendar(rules, [(at(2031, 1, 6, 10, 30), at(2031, 1, 6, 12), 8)], []).broken(
        start, end, PAST) == ("overlap", [8])
    off = [(at(2031, 1, 6, 10, 59), at(2031, 1, 7))]
    assert Calendar(rules, [], off).broken(start, end, PAST)[0] == "time_off"
    assert Calendar(rules, [], off).broken(start, end, PAST, override=True) is None
    two = [(at(2031, 1, 6, 13), at(2031, 1, 6, 14), 1), (at(2031, 1, 6, 15), at(2031, 1, 6, 16), 2)]
    assert Calendar(rules, two, off).broken(start, end, PAST)[0] == "time_off"
    assert Calendar(rules, two, []).broken(start, end, PAST)[0] == "daily_limit"
    assert Calendar(rules, two, []).broken(start, end, PAST, override=True)[0] == "daily_limit"
    assert Calendar(rules, [], []).broken(at(2031, 1, 6, 16, 30), at(2031, 1, 6, 17, 30), PAST)[0] \
        == "outside_working_hours"
    assert Calendar(rules, [], []).broken(start, end, start - timedelta(minutes=59))[0] \
        == "too_soon"
    assert Calendar(rules, [], []).broken(start, end, start - timedelta(minutes=60)) is None


def test_daily_limit_counts_the_local_day():
    rules = Rules("Pacific/Auckland", None, daily_limit=1)
    # 2031-01-06 10:00 UTC is 23:00 local on the 6th; 11:00 UTC is 00:00 local on the 7th.
    booked = [(at(2031, 1, 6, 10), at(2031, 1, 6, 10, 30), 1)]
    calendar = Calendar(rules, booked, [])
    assert calendar.broken(at(2031, 1, 6, 0), at(2031, 1, 6, 0, 30), PAST)[0] == "daily_limit"
    assert calendar.broken(at(2031, 1, 6, 11), at(2031, 1, 6, 11, 30), PAST) is None


def test_candidates_count_steps_from_midnight_utc():
    found = candidates(at(2031, 1, 31, 23, 7), at(2031, 2, 1, 1), timedelta(minutes=30), 20)
    assert [s for s, _ in found] == [at(2031, 1, 31, 23, 20), at(2031, 1, 31, 23, 40),
                                     at(2031, 2, 1, 0), at(2031, 2, 1, 0, 20)]


def test_offer_counts_each_pair_once_and_stops_at_the_limit():
    slots = candidates(at(2031, 1, 6, 9), at(2031, 1, 6, 11), timedelta(hours=1), 30)
    free = Calendar(Rules(), [], [])
    busy = Calendar(Rules(), [(at(2031, 1, 6, 9), at(2031, 1, 6, 10), 1)], [])
    offered, excluded = offer(slots, [(at(2031, 1, 6, 10), at(2031, 1, 6, 10, 5))],
                              {1: free, 2: busy}, PAST, limit=1)
    assert offered == [(at(2031, 1, 6, 9), at(2031, 1, 6, 10), [1])]
    # 9:00: busy for 2; 9:30 and 10:00: the interviewee is busy (both pairs each).
    assert excluded["overlap"] == 1 + 2 + 2


def test_every_instant_has_one_local_day_even_where_dst_skips_midnight():
    # Chile moves its clocks at midnight: on 7 September 2031 local 00:00 does not exist.
    for zone in ("America/Santiago", "Europe/London", "Asia/Kathmandu", "Pacific/Chatham"):
        rules = Rules(zone)
        for quarter in range(4 * 24 * 4):
            instant = at(2031, 9, 5) + timedelta(minutes=15 * quarter)
            low, high = rules.day_bounds(rules.day_of(instant))
            assert low <= instant < high, (zone, instant)


def test_a_booking_at_local_midnight_counts_for_that_day():
    rules = Rules("Europe/Paris", None, daily_limit=1)
    midnight = at(2031, 1, 5, 23)  # 00:00 on the 6th in Paris
    calendar = Calendar(rules, [(midnight, midnight + timedelta(minutes=30), 1)], [])
    assert calendar.broken(at(2031, 1, 6, 15), at(2031, 1, 6, 16), PAST)[0] == "daily_limit"
    assert calendar.broken(at(2031, 1, 5, 15), at(2031, 1, 5, 16), PAST) is None
