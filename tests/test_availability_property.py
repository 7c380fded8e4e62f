"""Property: what availability offers, create accepts at once; what it leaves out, create refuses.

For random schedules (working hours, date overrides, buffers, daily and weekly limits),
bookings (as lead, panelist or shadow, some declined), time off, and one to three
interviewers asked about in `any` or `all` mode: a slot offered books at once (with its first
interviewer in `any` mode, as a panel of all in `all` mode), and a candidate left out is
refused to every interviewer (or to the panel).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from db.models import Interview, InterviewMember, database
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
# Overrides by day offset from the window's day (made into local dates when seeded).
overrides = st.dictionaries(st.integers(-1, 2), st.lists(period, max_size=1), max_size=2)
schedule = st.fixed_dictionaries({
    "time_zone": st.sampled_from(ZONES), "working_hours": hours,
    "buffer_minutes": st.sampled_from([0, 5, 10, 30]),
    "daily_limit": st.sampled_from([None, 1, 2, 3]),
    "weekly_limit": st.sampled_from([None, 1, 1, 2, 3]),
    "minimum_notice_minutes": st.sampled_from([0, 60]),
    "overrides": overrides,
})
quarter = st.integers(0, 4 * 48)  # quarter-hours from 12 hours before the window's day
# ...or anywhere in the weeks around it (weekly limits, and the fairness of the 28 days before).
anywhen = st.one_of(quarter, st.integers(-4 * 24 * 8, 4 * 24 * 9))
seat = st.sampled_from(["lead", "lead", "panelist", "shadow", "declined"])
interviewer = st.fixed_dictionaries({
    "schedule": st.one_of(st.none(), schedule, schedule),
    "bookings": st.lists(st.tuples(anywhen, st.sampled_from([15, 30, 60]), seat), max_size=6),
    "time_off": st.lists(st.tuples(quarter, st.integers(1, 16)), max_size=2),
})
case = st.fixed_dictionaries({
    "interviewers": st.lists(interviewer, min_size=1, max_size=3),
    "mode": st.sampled_from(["any", "all"]),
    "day": st.integers(0, 400),
    "offset": st.integers(0, 4 * 24),
    "length": st.integers(4 * 4, 4 * 30),
    "duration": st.sampled_from([15, 30, 60, 90]),
    "step": st.sampled_from([15, 30, 60]),
})


def with_schedule(client, people: People, person, data: dict | None, day: datetime) -> bool:
    """Put the schedule in place; False when it is not one (overlapping periods on a day)."""
    if data is None:
        return True
    fields = {k: v for k, v in data.items() if k != "overrides"}
    fields["date_overrides"] = {(day.date() + timedelta(days=offset)).isoformat(): periods
                                for offset, periods in data["overrides"].items()}
    put = client.put(f"/api/v1/interviewers/{person.id}/schedule", json={"schedule": fields},
                     headers=people.auth(people.coordinator))
    assert put.status_code in (200, 422), put.text
    return put.status_code == 200


def seeded(people: People, person, data: dict, day: datetime, taken: list) -> None:
    """Put bookings (a lead's, or a seat on another's panel) and time off in place directly:
    the rules apply to new bookings only. No two active seats of one person overlap."""
    for q, minutes, kind in data["bookings"]:
        start = day - timedelta(hours=12) + timedelta(minutes=15 * q)
        end = start + timedelta(minutes=minutes)
        if kind != "declined" and any(s < end and start < e for s, e in taken):
            continue
        if kind != "declined":
            taken.append((start, end))
        lead = person if kind == "lead" else make_user("interviewer")
        interview = Interview.create(kind="phone_call", status="confirmed", start_at=start,
                                     end_at=end, interviewer=lead,
                                     interviewee=make_interviewee(people.driver), version=1)
        if kind != "lead":
            InterviewMember.insert(
                interview=interview.id, interviewer=person.id, position=1,
                role="shadow" if kind == "shadow" else "panelist",
                response="declined" if kind == "declined" else "accepted",
                status="confirmed", start_at=start, end_at=end).execute()
    for q, hours_off in data["time_off"]:
        start = day - timedelta(hours=12) + timedelta(minutes=15 * q)
        TimeOff.create(interviewer=person, start_at=start,
                       end_at=start + timedelta(hours=hours_off))


def attempt(client, people: People, lead, interviewee, start: datetime, end: datetime,
            panel=()):
    body = {"interview": {"interviewee_id": interviewee.id, "interviewer_id": lead.id,
                          "kind": "phone_call", "start_at": iso(start), "end_at": iso(end),
                          "panel": [{"interviewer_id": p.id, "role": "panelist"} for p in panel]}}
    return client.post("/api/v1/interviews", json=body, headers=people.auth(people.coordinator))


def undo(response) -> None:
    """Cancel a booking the property made (directly: its seats are freed with it)."""
    with database.connection_context():
        Interview.update(status="cancelled").where(
            Interview.id == response.json()["interview"]["id"]).execute()


def shown(moment: datetime) -> str:
    return iso(moment).replace("Z", ".000Z")


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=case)
def test_offered_slots_are_bookable_and_the_rest_are_not(client, people: People, data: dict):
    holds(client, people, data, note=event)


def holds(client, people: People, data: dict, note=lambda text: None) -> None:
    """The property for one case (the test above draws them; `note` tallies what it saw)."""
    day = BASE + timedelta(days=data["day"])
    persons = [make_user("interviewer") for _ in data["interviewers"]]
    interviewee = make_interviewee(people.driver)
    for person, spec in zip(persons, data["interviewers"]):
        if not with_schedule(client, people, person, spec["schedule"], day):
            return  # overlapping periods on a day: not a schedule
    with database.connection_context():
        for person, spec in zip(persons, data["interviewers"]):
            seeded(people, person, spec, day, [])
    start = day + timedelta(minutes=15 * data["offset"])
    end = start + timedelta(minutes=15 * data["length"])
    mode, by_id = data["mode"], {p.id: p for p in persons}
    response = client.get("/api/v1/availability", headers=people.auth(people.coordinator), params={
        "interviewee_id": interviewee.id, "interviewer_id": [p.id for p in persons],
        "from": iso(start), "to": iso(end), "duration_minutes": data["duration"],
        "step_minutes": data["step"], "limit": 500, "mode": mode})
    assert response.status_code == 200, response.text
    slots = response.json()["slots"]
    offered = {(s["start_at"], s["end_at"]): s["interviewer_ids"] for s in slots}
    everything = candidates(start, end, timedelta(minutes=data["duration"]), data["step"])
    excluded = sum(response.json()["excluded"].values())
    if mode == "any":  # every pair not free is counted once, under its first rule
        assert excluded == len(everything) * len(persons) - sum(map(len, offered.values()))
    else:
        assert all(ids == [p.id for p in persons] for ids in offered.values())
        assert len(everything) - len(offered) <= excluded <= len(persons) * len(everything)
    note(f"{mode}: {'some' if offered else 'no'} slots offered, {len(persons)} interviewers")

    ordered = sorted(offered)
    for n, key in enumerate(ordered[:1] + ordered[-1:]):
        ids = offered[key]
        slot_start, slot_end = (datetime.fromisoformat(t) for t in key)
        lead = by_id[ids[0] if n == 0 or mode == "all" else ids[-1]]
        panel = [by_id[i] for i in ids[1:]] if mode == "all" else []
        booked = attempt(client, people, lead, interviewee, slot_start, slot_end, panel)
        assert booked.status_code == 200, (mode, key, booked.text)
        undo(booked)
        if mode == "any":  # those left out of a slot are refused for it
            for other in (p for p in persons if p.id not in ids):
                answer = attempt(client, people, other, interviewee, slot_start, slot_end)
                assert answer.status_code in (409, 422), (key, answer.text)

    refused = [(s, e) for s, e in everything if (shown(s), shown(e)) not in offered]
    note("some candidates refused" if refused else "every candidate offered")
    for slot_start, slot_end in refused[:2] + refused[-1:]:
        tries = [(persons[0], persons[1:])] if mode == "all" else [(p, []) for p in persons]
        for lead, panel in tries:
            answer = attempt(client, people, lead, interviewee, slot_start, slot_end, panel)
            assert answer.status_code in (409, 422), (mode, slot_start, answer.text)
