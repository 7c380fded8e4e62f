"""Property: what availability offers, create accepts at once; what it leaves out, create refuses."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from db.models import Interview, database
from db.schedules import TimeOff
from db.slots import DAYS, candidates
from tests.helpers.booking import iso
from tests.helpers.people import People, make_interviewee, make_user

ZONES = ["UTC", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York",
         "Pacific/Auckland"]
BASE = datetime(2032, 1, 1, tzinfo=UTC)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


period = st.tuples(st.integers(0, 47), st.integers(1, 16)).map(
    lambda t: {"start": hhmm(t[0] * 30), "end": hhmm(min(t[0] * 30 + t[1] * 30, 1440))})
hours = st.one_of(st.none(), st.dictionaries(st.sampled_from(DAYS), st.lists(period, max_size=1),
                                             min_size=3, max_size=7))
schedule = st.fixed_dictionaries({
    "time_zone": st.sampled_from(ZONES), "working_hours": hours,
    "buffer_minutes": st.sampled_from([0, 5, 10, 30]),
    "daily_limit": st.sampled_from([None, 1, 2, 3]),
    "minimum_notice_minutes": st.sampled_from([0, 60]),
})
quarter = st.integers(0, 4 * 48)  # quarter-hours from the window's day
case = st.fixed_dictionaries({
    "schedule": schedule,
    "day": st.integers(0, 400),
    "offset": st.integers(0, 4 * 24),
    "length": st.integers(4 * 4, 4 * 30),
    "bookings": st.lists(st.tuples(quarter, st.sampled_from([15, 30, 60])), max_size=4),
    "time_off": st.lists(st.tuples(quarter, st.integers(1, 16)), max_size=2),
    "duration": st.sampled_from([15, 30, 60, 90]),
    "step": st.sampled_from([15, 30, 60]),
})


def seeded(people: People, interviewer, data: dict) -> datetime:
    """Put the bookings and time off in place (directly: rules apply to new bookings only)."""
    day = BASE + timedelta(days=data["day"])
    with database.connection_context():
        taken: list[tuple[datetime, datetime]] = []
        for q, minutes in data["bookings"]:
            start = day - timedelta(hours=12) + timedelta(minutes=15 * q)
            end = start + timedelta(minutes=minutes)
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            Interview.create(kind="phone_call", status="confirmed", start_at=start, end_at=end,
                             interviewer=interviewer, interviewee=make_interviewee(people.driver),
                             version=1)
        for q, hours_off in data["time_off"]:
            start = day - timedelta(hours=12) + timedelta(minutes=15 * q)
            TimeOff.create(interviewer=interviewer, start_at=start, end_at=start + timedelta(hours=hours_off))
    return day


def attempt(client, people: People, interviewer, interviewee, start: datetime, end: datetime):
    body = {"interview": {"interviewee_id": interviewee.id, "interviewer_id": interviewer.id,
                          "kind": "phone_call", "start_at": iso(start), "end_at": iso(end)}}
    return client.post("/api/v1/interviews", json=body, headers=people.auth(people.coordinator))


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=case)
def test_offered_slots_are_bookable_and_the_rest_are_not(client, people: People, data: dict):
    interviewer = make_user("interviewer")
    interviewee = make_interviewee(people.driver)
    put = client.put(f"/api/v1/interviewers/{interviewer.id}/schedule",
                     json={"schedule": data["schedule"]}, headers=people.auth(people.coordinator))
    assert put.status_code in (200, 422), put.text
    if put.status_code == 422:  # overlapping periods on a day: not a schedule
        return
    day = seeded(people, interviewer, data)
    start = day + timedelta(minutes=15 * data["offset"])
    end = start + timedelta(minutes=15 * data["length"])
    response = client.get("/api/v1/availability", headers=people.auth(people.coordinator), params={
        "interviewee_id": interviewee.id, "interviewer_id": interviewer.id, "from": iso(start),
        "to": iso(end), "duration_minutes": data["duration"], "step_minutes": data["step"],
        "limit": 500})
    assert response.status_code == 200, response.text
    offered = {(s["start_at"], s["end_at"]) for s in response.json()["slots"]}
    everything = candidates(start, end, timedelta(minutes=data["duration"]), data["step"])
    assert sum(response.json()["excluded"].values()) == len(everything) - len(offered)
    offered_list = sorted(offered)
    event("some slots offered" if offered else "no slot offered")
    for slot_start, slot_end in offered_list[:1] + offered_list[-1:]:
        booked = attempt(client, people, interviewer, interviewee,
                         datetime.fromisoformat(slot_start), datetime.fromisoformat(slot_end))
        assert booked.status_code == 200, (slot_start, booked.text)
        with database.connection_context():
            Interview.update(status="cancelled").where(
                Interview.id == booked.json()["interview"]["id"]).execute()
    refused = [(s, e) for s, e in everything if (iso(s).replace("Z", ".000Z"),
                                                  iso(e).replace("Z", ".000Z")) not in offered]
    event("some candidates refused" if refused else "every candidate offered")
    for slot_start, slot_end in refused[:2] + refused[-1:]:
        answer = attempt(client, people, interviewer, interviewee, slot_start, slot_end)
        assert answer.status_code in (409, 422), (slot_start, answer.text)
