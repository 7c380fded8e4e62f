"""Schedules and time off over HTTP, and the booking rules they add to create, edit and amend."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers.booking import book, interview_body, iso
from tests.helpers.people import People, make_interviewee
from tests.helpers.schedules import SCHEDULE, put_schedule

SHOWN = {**SCHEDULE, "weekly_limit": None, "date_overrides": {}}  # what a PUT of it reads back
MONDAY = datetime(2031, 3, 3, tzinfo=UTC)  # GMT


def create(client, people: People, start: datetime, minutes: int = 30, who=None, **fields):
    body = interview_body(people, iso(start), iso(start + timedelta(minutes=minutes)), **fields)
    return client.post("/api/v1/interviews", json=body,
                       headers=people.auth(who or people.coordinator))


def test_default_schedule_then_put_with_etags(client, people: People):
    path = f"/api/v1/interviewers/{people.interviewer.id}/schedule"
    first = client.get(path, headers=people.auth(people.interviewer))
    assert first.status_code == 200
    assert first.json() == {"schedule": {"time_zone": "UTC", "working_hours": None,
                                         "buffer_minutes": 0, "daily_limit": None,
                                         "minimum_notice_minutes": 0, "weekly_limit": None,
                                         "date_overrides": {}}}
    tag = first.headers["ETag"]
    conditional = {**people.auth(people.interviewer), "If-None-Match": tag}
    assert client.get(path, headers=conditional).status_code == 304
    saved = put_schedule(client, people, who=people.interviewer, **{"If-Match": tag})
    assert saved.status_code == 200, saved.text
    assert saved.json()["schedule"] == SHOWN and saved.headers["ETag"] != tag
    stale = put_schedule(client, people, **{"If-Match": tag})
    assert stale.status_code == 412
    assert client.get(path, headers=people.auth(people.coordinator)).json()["schedule"] == SHOWN


def test_only_the_interviewer_or_a_coordinator_sees_a_schedule(client, people: People):
    path = f"/api/v1/interviewers/{people.interviewer.id}/schedule"
    for stranger in (people.other_interviewer, people.driver):
        assert client.get(path, headers=people.auth(stranger)).status_code == 404
        assert put_schedule(client, people, who=stranger).status_code == 404
    not_an_interviewer = f"/api/v1/interviewers/{people.driver.id}/schedule"
    assert client.get(not_an_interviewer,
                      headers=people.auth(people.coordinator)).status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"time_zone": "localtime"}, "time_zone"),
    ({"working_hours": {"monday": [{"start": "17:00", "end": "09:00"}]}}, "working_hours.monday"),
    ({"working_hours": {"monday": [{"start": "09:00", "end": "12:00"},
                                   {"start": "11:00", "end": "13:00"}]}}, "working_hours.monday"),
])
def test_bad_schedules_are_422(client, people: People, change, field):
    response = put_schedule(client, people, {**SCHEDULE, **change})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_schema_bounds_are_400(client, people: People):
    for change in ({"buffer_minutes": 241}, {"daily_limit": 0}, {"minimum_notice_minutes": 10081},
                   {"working_hours": {"monday": [{"start": "24:00", "end": "24:00"}]}},
                   {"working_hours": {"someday": []}}):
        assert put_schedule(client, people, {**SCHEDULE, **change}).status_code == 400, change


def test_a_period_may_end_at_midnight(client, people: People):
    late = {**SCHEDULE, "time_zone": "UTC", "minimum_notice_minutes": 0,
            "working_hours": {"monday": [{"start": "23:00", "end": "24:00"}]}}
    assert put_schedule(client, people, late).status_code == 200
    assert create(client, people, MONDAY + timedelta(hours=23, minutes=30)).status_code == 200


def test_time_off_list_add_delete(client, people: People):
    path = f"/api/v1/interviewers/{people.interviewer.id}/time_off"
    body = {"time_off": {"start_at": "2031-08-04T00:00:00+01:00",
                         "end_at": "2031-08-16T00:00:00+01:00", "reason": "Holiday"}}
    added = client.post(path, json=body, headers=people.auth(people.interviewer))
    assert added.status_code == 201, added.text
    entry = added.json()["time_off"]
    assert entry["start_at"] == "2031-08-03T23:00:00.000Z" and entry["reason"] == "Holiday"
    listed = client.get(path, headers=people.auth(people.coordinator)).json()["time_off"]
    assert listed == [entry]
    assert client.get(path, headers=people.auth(people.other_interviewer)).status_code == 404
    for who, status in ((people.other_interviewer, 404), (people.coordinator, 204),
                        (people.coordinator, 404)):
        deleted = client.delete(f"{path}/{entry['id']}", headers=people.auth(who))
        assert deleted.status_code == status
    ancient = {"time_off": {"start_at": "0001-01-01T00:00:00Z", "end_at": "0001-01-02T00:00:00Z"}}
    backwards = {"time_off": {"start_at": "2031-08-04T00:00:00Z", "end_at": "2031-08-03T00:00:00Z"}}
    too_long = {"time_off": {"start_at": "2031-01-01T00:00:00Z", "end_at": "2031-06-01T00:00:00Z"}}
    for refused in (ancient, backwards, too_long):
        answer = client.post(path, json=refused, headers=people.auth(people.interviewer))
        assert answer.status_code == 422


def test_each_rule_refuses_with_its_code_in_order(client, people: People):
    assert put_schedule(client, people).status_code == 200
    ten = MONDAY + timedelta(hours=10)
    first = create(client, people, ten)
    assert first.status_code == 200, first.text
    other = make_interviewee(people.driver)
    clash = create(client, people, ten + timedelta(minutes=15), interviewee_id=other.id)
    assert (clash.status_code, clash.json()["code"]) == (409, "overlap")
    close = create(client, people, ten + timedelta(minutes=35), interviewee_id=other.id)
    assert (close.status_code, close.json()["code"]) == (409, "buffer")
    assert close.json()["conflicts"] == [first.json()["interview"]["id"]]
    exactly = create(client, people, ten + timedelta(minutes=40), interviewee_id=other.id)
    assert exactly.status_code == 200, exactly.text
    client.post(f"/api/v1/interviewers/{people.interviewer.id}/time_off",
                headers=people.auth(people.coordinator),
                json={"time_off": {"start_at": iso(MONDAY + timedelta(hours=12)),
                                   "end_at": iso(MONDAY + timedelta(hours=13))}})
    lunch = create(client, people, MONDAY + timedelta(hours=12, minutes=30),
                   interviewee_id=make_interviewee(people.driver).id)
    assert (lunch.status_code, lunch.json()["code"]) == (409, "time_off")
    third = create(client, people, MONDAY + timedelta(hours=14),
                   interviewee_id=make_interviewee(people.driver).id)
    assert third.status_code == 200
    fourth = create(client, people, MONDAY + timedelta(hours=15),
                    interviewee_id=make_interviewee(people.driver).id)
    assert (fourth.status_code, fourth.json()["code"]) == (409, "daily_limit")
    for extreme in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 12, tzinfo=UTC)):
        assert create(client, people, extreme).status_code == 422
    evening = create(client, people, MONDAY + timedelta(days=1, hours=17))
    assert (evening.status_code, evening.json()["code"]) == (422, "outside_working_hours")
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=30)
    put_schedule(client, people, {**SCHEDULE, "working_hours": None})
    early = create(client, people, soon)
    assert (early.status_code, early.json()["code"]) == (422, "too_soon")


def test_coordinators_override_hours_time_off_and_notice_not_buffers(client, people: People):
    assert put_schedule(client, people).status_code == 200
    sunday = MONDAY + timedelta(days=6, hours=20)
    driver_try = create(client, people, sunday, override_schedule=True, who=people.interviewer)
    assert driver_try.status_code == 403
    booked = create(client, people, sunday, override_schedule=True)
    assert booked.status_code == 200, booked.text
    events = client.get(f"/api/v1/interviews/{booked.json()['interview']['id']}/events",
                        headers=people.auth(people.coordinator)).json()["events"]
    assert events[0]["changes"]["override_schedule"] == {"from": None, "to": True}
    near = create(client, people, sunday + timedelta(minutes=35), override_schedule=True,
                  interviewee_id=make_interviewee(people.driver).id)
    assert (near.status_code, near.json()["code"]) == (409, "buffer")


def test_edit_and_amendments_are_checked_and_a_proposals_override_carries_over(client,
                                                                               people: People):
    assert put_schedule(client, people).status_code == 200
    interview = book(client, people, iso(MONDAY + timedelta(days=14, hours=10)),
                     iso(MONDAY + timedelta(days=14, hours=10, minutes=30)))
    path = f"/api/v1/interviews/{interview['id']}"
    night = {"start_at": iso(MONDAY + timedelta(days=14, hours=20)),
             "end_at": iso(MONDAY + timedelta(days=14, hours=20, minutes=30))}
    edit = client.patch(path, json={"interview": night}, headers=people.auth(people.interviewer))
    assert (edit.status_code, edit.json()["code"]) == (422, "outside_working_hours")
    proposal = client.post(f"{path}/amendment", json={"amendment": night},
                           headers=people.auth(people.driver))
    assert (proposal.status_code, proposal.json()["code"]) == (422, "outside_working_hours")
    overriding = {"amendment": {**night, "override_schedule": True}}
    forbidden = client.post(f"{path}/amendment", json=overriding,
                            headers=people.auth(people.driver))
    assert forbidden.status_code == 403
    proposal = client.post(f"{path}/amendment", json=overriding,
                           headers=people.auth(people.coordinator))
    assert proposal.status_code == 200, proposal.text
    accepted = client.post(f"{path}/amendment/accept", headers=people.auth(people.driver))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["interview"]["start_at"] == night["start_at"].replace("Z", ".000Z")


def test_accept_rechecks_the_rules(client, people: People):
    interview = book(client, people, iso(MONDAY + timedelta(days=21, hours=10)),
                     iso(MONDAY + timedelta(days=21, hours=10, minutes=30)))
    path = f"/api/v1/interviews/{interview['id']}"
    night = {"start_at": iso(MONDAY + timedelta(days=21, hours=20)),
             "end_at": iso(MONDAY + timedelta(days=21, hours=20, minutes=30))}
    assert client.post(f"{path}/amendment", json={"amendment": night},
                       headers=people.auth(people.driver)).status_code == 200
    assert put_schedule(client, people).status_code == 200  # the rules arrive after the proposal
    accepted = client.post(f"{path}/amendment/accept", headers=people.auth(people.interviewer))
    assert (accepted.status_code, accepted.json()["code"]) == (422, "outside_working_hours")


def test_a_booking_at_local_midnight_counts_toward_that_days_limit(client, people: People):
    limited = {**SCHEDULE, "time_zone": "UTC", "working_hours": None, "buffer_minutes": 0,
               "daily_limit": 1, "minimum_notice_minutes": 0}
    assert put_schedule(client, people, limited).status_code == 200
    day = MONDAY + timedelta(days=28)
    assert create(client, people, day).status_code == 200
    later = create(client, people, day + timedelta(hours=10))
    assert (later.status_code, later.json()["code"]) == (409, "daily_limit")


def test_the_directory_shows_the_schedules_time_zone(client, people: People):
    def zone() -> str:
        page = client.get("/api/v1/interviewers", params={"q": people.interviewer.title},
                          headers=people.auth(people.coordinator)).json()
        return next(i["time_zone"] for i in page["interviewers"]
                    if i["id"] == people.interviewer.id)

    assert zone() == "UTC"
    kathmandu = put_schedule(client, people, {**SCHEDULE, "time_zone": "Asia/Kathmandu"})
    assert kathmandu.status_code == 200
    assert zone() == "Asia/Kathmandu"
