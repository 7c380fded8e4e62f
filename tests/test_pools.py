"""Pools and load: weekly limits, date overrides, availability for a panel and fair order."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from db.slots import Calendar, Rules, fairest, ms
from tests.helpers.booking import book, interview_body, iso
from tests.helpers.people import People, make_interviewee, make_user

ANY_TIME = {"time_zone": "Europe/London", "working_hours": None, "buffer_minutes": 0,
            "daily_limit": None, "minimum_notice_minutes": 0}
weeks = iter(range(1000))


def a_monday() -> datetime:
    """Midnight of a Monday (London is UTC in winter) no other test here uses."""
    return datetime(2034, 1, 2, tzinfo=UTC) + timedelta(weeks=next(weeks))


def local_date(monday: datetime, days: int) -> str:
    return (monday + timedelta(days=days)).date().isoformat()


def put(client, people: People, interviewer, **schedule):
    return client.put(f"/api/v1/interviewers/{interviewer.id}/schedule",
                      json={"schedule": {**ANY_TIME, **schedule}},
                      headers=people.auth(people.coordinator))


def create(client, people: People, start: datetime, interviewer=None, minutes: int = 30, **fields):
    body = interview_body(people, iso(start), iso(start + timedelta(minutes=minutes)),
                          interviewer_id=(interviewer or people.interviewer).id,
                          interviewee_id=make_interviewee(people.driver).id, **fields)
    return client.post("/api/v1/interviews", json=body, headers=people.auth(people.coordinator))


def test_schedule_reads_back_weekly_limit_and_overrides(client, people: People):
    overrides = {"2034-12-27": [{"start": "14:00", "end": "16:00"},
                                {"start": "10:00", "end": "12:00"}],
                 "2034-12-24": []}
    saved = put(client, people, people.interviewer, weekly_limit=5, date_overrides=overrides)
    assert saved.status_code == 200, saved.text
    assert saved.json()["schedule"]["weekly_limit"] == 5
    assert saved.json()["schedule"]["date_overrides"] == {  # in date order, periods in order
        "2034-12-24": [],
        "2034-12-27": [{"start": "10:00", "end": "12:00"}, {"start": "14:00", "end": "16:00"}]}
    assert list(saved.json()["schedule"]["date_overrides"]) == ["2034-12-24", "2034-12-27"]


@pytest.mark.parametrize("schedule, status, field", [
    ({"weekly_limit": 0}, 400, None),
    ({"weekly_limit": 101}, 400, None),
    ({"date_overrides": {"2034-02-30": []}}, 422, "date_overrides.2034-02-30"),
    ({"date_overrides": {"20341224": []}}, 422, "date_overrides.20341224"),
    ({"date_overrides": {"0001-01-01": []}}, 422, "date_overrides.0001-01-01"),
    ({"date_overrides": {"2034-12-24": [{"start": "12:00", "end": "10:00"}]}}, 422,
     "date_overrides.2034-12-24"),
    ({"date_overrides": {"2034-12-24": [{"start": "09:00", "end": "12:00"},
                                        {"start": "11:00", "end": "13:00"}]}}, 422,
     "date_overrides.2034-12-24"),
    ({"date_overrides": {(date(2035, 1, 1) + timedelta(days=n)).isoformat(): []
                         for n in range(401)}}, 400, None),
])
def test_bad_weekly_limits_and_overrides_are_refused(client, people: People, schedule, status,
                                                     field):
    response = put(client, people, people.interviewer, **schedule)
    assert response.status_code == status, response.text
    if field:
        assert response.json()["errors"][0]["field"] == field


def test_four_hundred_overrides_are_fine(client, people: People):
    overrides = {(date(2036, 1, 1) + timedelta(days=n)).isoformat(): [] for n in range(400)}
    assert put(client, people, people.interviewer, date_overrides=overrides).status_code == 200


def test_weekly_limit_counts_the_local_iso_week(client, people: People):
    monday = a_monday()
    assert put(client, people, people.interviewer, weekly_limit=2).status_code == 200
    assert create(client, people, monday + timedelta(hours=9)).status_code == 200
    assert create(client, people, monday + timedelta(days=6, hours=22)).status_code == 200  # Sunday
    refused = create(client, people, monday + timedelta(days=3, hours=9))
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["interviewer_id"]) == (
        "weekly_limit", people.interviewer.id)
    # Monday 00:00 local starts a new week.
    assert create(client, people, monday + timedelta(days=7)).status_code == 200


def test_weekly_limit_is_checked_right_after_the_daily_limit(client, people: People):
    monday = a_monday()
    put(client, people, people.interviewer, weekly_limit=1, daily_limit=1)
    assert create(client, people, monday + timedelta(hours=9)).status_code == 200
    same_day = create(client, people, monday + timedelta(hours=15))
    assert same_day.json()["code"] == "daily_limit"
    next_day = create(client, people, monday + timedelta(days=1, hours=9))
    assert next_day.json()["code"] == "weekly_limit"


def test_weekly_limit_is_never_overridden_and_counts_panel_seats(client, people: People):
    monday = a_monday()
    put(client, people, people.interviewer, weekly_limit=1)
    seat = create(client, people, monday + timedelta(hours=9), interviewer=people.other_interviewer,
                  panel=[{"interviewer_id": people.interviewer.id, "role": "panelist"}])
    assert seat.status_code == 200, seat.text
    refused = create(client, people, monday + timedelta(days=1, hours=9), override_schedule=True)
    assert refused.status_code == 409 and refused.json()["code"] == "weekly_limit"


def test_weekly_limit_follows_the_local_week_of_the_zone(client, people: People):
    """Monday 00:00 in Auckland is Sunday 11:00 UTC (NZDT): a Sunday-noon UTC booking is in
    the next local week."""
    monday = a_monday()
    put(client, people, people.interviewer, time_zone="Pacific/Auckland", weekly_limit=1)
    sunday_noon_utc = monday + timedelta(days=6, hours=12)
    assert create(client, people, sunday_noon_utc - timedelta(hours=3)).status_code == 200
    assert create(client, people, sunday_noon_utc).status_code == 200
    # Both weeks are full now: Sunday 23:00 local, and Monday 05:00 local.
    for hours in (-2, 4):
        full = create(client, people, sunday_noon_utc + timedelta(hours=hours))
        assert full.json()["code"] == "weekly_limit"


def test_date_overrides_replace_the_weekday(client, people: People):
    monday = a_monday()
    week = {day: [{"start": "09:00", "end": "17:00"}] for day in ("monday", "tuesday")}
    overrides = {monday.date().isoformat(): [],
                 local_date(monday, 1): [{"start": "10:00", "end": "12:00"}],
                 local_date(monday, 5): [{"start": "08:00", "end": "09:00"}]}
    put(client, people, people.interviewer, working_hours=week, date_overrides=overrides)
    closed = create(client, people, monday + timedelta(hours=10))
    assert (closed.status_code, closed.json()["code"]) == (422, "outside_working_hours")
    assert create(client, people, monday + timedelta(days=1, hours=9)).json()["code"] \
        == "outside_working_hours"
    assert create(client, people, monday + timedelta(days=1, hours=10)).status_code == 200
    saturday = create(client, people, monday + timedelta(days=5, hours=8))
    assert saturday.status_code == 200
    assert create(client, people, monday + timedelta(days=2, hours=10)).json()["code"] \
        == "outside_working_hours"  # Wednesday: not in the week, no override


def test_date_overrides_without_working_hours(client, people: People):
    """With working hours null (any time), an override still closes or limits its date, and a
    slot may cross midnight between two days worked at any time."""
    monday = a_monday()
    overrides = {local_date(monday, 2): [],
                 local_date(monday, 3): [{"start": "10:00", "end": "11:00"}]}
    put(client, people, people.interviewer, date_overrides=overrides)
    assert create(client, people, monday + timedelta(hours=23, minutes=45)).status_code == 200
    assert create(client, people, monday + timedelta(days=2, hours=12)).json()["code"] \
        == "outside_working_hours"
    into_closed = create(client, people, monday + timedelta(days=1, hours=23, minutes=45))
    assert into_closed.json()["code"] == "outside_working_hours"
    assert create(client, people, monday + timedelta(days=3, hours=10)).status_code == 200
    assert create(client, people, monday + timedelta(days=3, hours=11)).json()["code"] \
        == "outside_working_hours"


def availability(client, people: People, interviewers, start: datetime, hours: int, **params):
    response = client.get("/api/v1/availability", headers=people.auth(people.coordinator), params={
        "interviewee_id": make_interviewee(people.driver).id,
        "interviewer_id": [i.id for i in interviewers], "from": iso(start),
        "to": iso(start + timedelta(hours=hours)), "duration_minutes": 60, "step_minutes": 60,
        "limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_mode_all_offers_only_slots_where_everyone_is_free(client, people: People):
    monday = a_monday() + timedelta(hours=8)
    a, b, c = (make_user("interviewer") for _ in range(3))
    book(client, people, iso(monday + timedelta(hours=1)), iso(monday + timedelta(hours=2)),
         interviewer_id=a.id, interviewee_id=make_interviewee(people.driver).id)
    book(client, people, iso(monday + timedelta(hours=2)), iso(monday + timedelta(hours=3)),
         interviewer_id=c.id, interviewee_id=make_interviewee(people.driver).id,
         panel=[{"interviewer_id": b.id, "role": "shadow"}])
    every = availability(client, people, [c, a, b], monday, 4, mode="all")
    assert [(s["start_at"][11:16], s["interviewer_ids"]) for s in every["slots"]] == [
        ("08:00", [c.id, a.id, b.id]), ("11:00", [c.id, a.id, b.id])]
    assert every["excluded"]["overlap"] == 3  # a at 09:00, b and c at 10:00
    some = availability(client, people, [c, a, b], monday, 4)
    assert [s["start_at"][11:16] for s in some["slots"]] == ["08:00", "09:00", "10:00", "11:00"]
    assert sorted(some["slots"][1]["interviewer_ids"]) == sorted([b.id, c.id])
    assert some["slots"][2]["interviewer_ids"] == [a.id]


def test_mode_all_slots_book_as_a_panel(client, people: People):
    monday = a_monday() + timedelta(hours=8)
    a, b = make_user("interviewer"), make_user("interviewer")
    put(client, people, b, working_hours={"monday": [{"start": "10:00", "end": "12:00"}]})
    slots = availability(client, people, [a, b], monday, 8, mode="all")["slots"]
    assert [s["start_at"][11:16] for s in slots] == ["10:00", "11:00"]
    first = slots[0]
    response = create(client, people, datetime.fromisoformat(first["start_at"]), interviewer=a,
                      minutes=60, panel=[{"interviewer_id": b.id, "role": "panelist"}])
    assert response.status_code == 200, response.text


def test_declined_seats_are_free_in_availability(client, people: People):
    monday = a_monday() + timedelta(hours=8)
    member = make_user("interviewer")
    interview = book(client, people, iso(monday), iso(monday + timedelta(hours=1)),
                     interviewee_id=make_interviewee(people.driver).id,
                     panel=[{"interviewer_id": member.id, "role": "panelist"}])
    assert availability(client, people, [member], monday, 1)["slots"] == []
    client.post(f"/api/v1/interviews/{interview['id']}/response", headers=people.auth(member),
                json={"response": {"status": "declined"}})
    freed = availability(client, people, [member], monday, 1)["slots"]
    assert [s["interviewer_ids"] for s in freed] == [[member.id]]


def test_any_mode_puts_the_least_loaded_first(client, people: People):
    monday = a_monday() + timedelta(hours=8)
    busy, idle, shadowing = (make_user("interviewer") for _ in range(3))
    for hour in (0, 2):  # two interviews this week for `busy`, none that count for `shadowing`
        book(client, people, iso(monday + timedelta(hours=hour)),
             iso(monday + timedelta(hours=hour, minutes=30)), interviewer_id=busy.id,
             interviewee_id=make_interviewee(people.driver).id,
             panel=[{"interviewer_id": shadowing.id, "role": "shadow"}])
    book(client, people, iso(monday + timedelta(hours=4)), iso(monday + timedelta(hours=5)),
         interviewer_id=idle.id, interviewee_id=make_interviewee(people.driver).id)
    slot = availability(client, people, [busy, idle, shadowing], monday + timedelta(hours=6), 1)
    assert slot["slots"][0]["interviewer_ids"] == [shadowing.id, idle.id, busy.id]


# The order itself, pure (db/slots.py), against a brute-force reading of DESIGN.md's rule.
def brute_key(bookings: list[tuple[datetime, datetime, bool]], rules: Rules, start: datetime,
              interviewer_id: int) -> tuple:
    counted = [(s, e) for s, e, counts in bookings if counts]
    week_low, week_high = rules.week_bounds(rules.day_of(start))
    week = sum(1 for s, _ in counted if week_low <= s < week_high)
    recent = sum(1 for s, _ in counted if start - timedelta(days=28) <= s < start)
    ended = [e for _, e in counted if e <= start]
    return (week, recent, ms(max(ended)) if ended else -(2**63), interviewer_id)


def test_fairest_matches_a_brute_force_reading_on_small_cases():
    import random

    rng = random.Random(16)
    base = datetime(2034, 3, 1, tzinfo=UTC)
    for _ in range(300):
        zones = ["UTC", "Europe/London", "Pacific/Auckland", "America/New_York"]
        people_ids = rng.sample(range(1, 50), rng.randint(2, 5))
        calendars, raw = {}, {}
        start = base + timedelta(hours=rng.randrange(24 * 40))
        for person in people_ids:
            rules = Rules(rng.choice(zones))
            taken, at = [], base - timedelta(days=rng.randrange(40))
            for _ in range(rng.randrange(8)):
                at += timedelta(hours=rng.randrange(1, 96))
                taken.append((at, at + timedelta(minutes=30), rng.random() < 0.8))
            raw[person] = (taken, rules)
            bookings = [(s, e, n, c) for n, (s, e, c) in enumerate(taken)]
            calendars[person] = Calendar(rules, bookings, [])
        want = sorted(people_ids, key=lambda p: brute_key(*raw[p], start, p))
        assert fairest(list(people_ids), calendars, ms(start)) == want
        # Asked again and again as slots go by (what a calendar keeps must still be right).
        for step in range(60):
            later = start + timedelta(minutes=rng.choice([1, 15, 30, 60, 600]) * step)
            want = sorted(people_ids, key=lambda p: brute_key(*raw[p], later, p))
            assert fairest(list(people_ids), calendars, ms(later)) == want, (step, later)


def test_availability_reads_the_whole_local_week_for_a_weekly_limit(client, people: People):
    monday = a_monday()
    full = make_user("interviewer")
    put(client, people, full, weekly_limit=2)
    for hour in (9, 11):
        book(client, people, iso(monday + timedelta(hours=hour)),
             iso(monday + timedelta(hours=hour, minutes=30)), interviewer_id=full.id,
             interviewee_id=make_interviewee(people.driver).id)
    friday = availability(client, people, [full], monday + timedelta(days=4, hours=9), 2)
    assert friday["slots"] == [] and friday["excluded"]["weekly_limit"] == 2


def test_fairness_reads_when_the_last_interview_ended_however_long_ago(client, people: People):
    monday = a_monday() + timedelta(hours=9)
    # Made in the opposite order, so that ids alone would order them the other way round.
    less_long_ago, long_ago, never = (make_user("interviewer") for _ in range(3))
    for person, days in ((long_ago, 40), (less_long_ago, 35)):
        book(client, people, iso(monday - timedelta(days=days)),
             iso(monday - timedelta(days=days) + timedelta(minutes=30)), interviewer_id=person.id,
             interviewee_id=make_interviewee(people.driver).id)
    slot = availability(client, people, [less_long_ago, long_ago, never], monday, 1)["slots"][0]
    assert slot["interviewer_ids"] == [never.id, long_ago.id, less_long_ago.id]
