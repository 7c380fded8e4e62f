"""GET /api/v1/availability: slots under every rule, who may ask, DST over HTTP."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers.booking import book, iso
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.schedules import SCHEDULE, put_schedule

PATH = "/api/v1/availability"


def ask(client, people: People, who=None, interviewers=None, **params):
    query = {"interviewee_id": people.interviewee.id,
             "interviewer_id": interviewers or [people.interviewer.id],
             "duration_minutes": 30, **params}
    return client.get(PATH, params=query, headers=people.auth(who or people.coordinator))


def test_working_hours_across_the_october_change(client, people: People):
    assert put_schedule(client, people, {**SCHEDULE, "buffer_minutes": 0, "daily_limit": None,
                                         "minimum_notice_minutes": 0}).status_code == 200
    # Friday 24 (BST) and Monday 27 October 2031 (GMT): 09:00 local is 08:00 then 09:00 UTC.
    response = ask(client, people, **{"from": "2031-10-24T00:00:00Z", "to": "2031-10-28T00:00:00Z",
                                      "step_minutes": 60, "duration_minutes": 60})
    assert response.status_code == 200, response.text
    starts = [s["start_at"] for s in response.json()["slots"]]
    assert starts[0] == "2031-10-24T08:00:00.000Z" and starts[7] == "2031-10-24T15:00:00.000Z"
    assert starts[8] == "2031-10-27T09:00:00.000Z" and starts[-1] == "2031-10-27T16:00:00.000Z"
    assert len(starts) == 16
    assert response.json()["excluded"]["outside_working_hours"] == 4 * 24 - 16


def test_slots_skip_bookings_and_buffers_and_name_free_interviewers(client, people: People):
    assert put_schedule(client, people, {**SCHEDULE, "time_zone": "UTC"}).status_code == 200
    second = make_user("interviewer")
    monday = datetime(2031, 3, 10, tzinfo=UTC)
    booked = book(client, people, iso(monday + timedelta(hours=10)),
                  iso(monday + timedelta(hours=11)), interviewer_id=people.interviewer.id,
                  interviewee_id=make_interviewee(people.driver).id)
    assert booked["status"] == "pending"
    response = ask(client, people, interviewers=[people.interviewer.id, second.id],
                   **{"from": iso(monday + timedelta(hours=9)),
                      "to": iso(monday + timedelta(hours=12))})
    body = response.json()
    by_start = {s["start_at"][11:16]: s["interviewer_ids"] for s in body["slots"]}
    # Both free: the one with nothing booked this week first (fairest first).
    assert by_start["09:00"] == [second.id, people.interviewer.id]
    assert by_start["09:30"] == [second.id]   # ends 10:00, but the buffer is 10 minutes
    assert by_start["10:00"] == [second.id]   # overlap
    assert by_start["11:15"] == [second.id, people.interviewer.id]
    # 09:45 to 10:45 overlap; 09:30 and 11:00 are closer than the buffer.
    assert body["excluded"]["overlap"] == 5 and body["excluded"]["buffer"] == 2


def test_who_may_ask(client, people: People):
    window = {"from": "2031-05-01T09:00:00Z", "to": "2031-05-01T10:00:00Z"}
    assert ask(client, people, who=people.interviewer, **window).status_code == 200
    assert ask(client, people, who=people.interviewer,
               interviewers=[people.other_interviewer.id], **window).status_code == 403
    assert ask(client, people, who=people.driver, interviewers=[people.other_interviewer.id],
               **window).status_code == 200
    assert ask(client, people, who=people.other_driver, **window).status_code == 403
    assert ask(client, people, interviewers=[people.driver.id], **window).status_code == 422
    too_long = {"from": "2031-05-01T00:00:00Z", "to": "2031-06-02T00:00:00Z"}
    assert ask(client, people, **too_long).status_code == 422
    assert ask(client, people, interviewers=list(range(1, 12)), **window).status_code == 400
    ancient = {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"}
    assert ask(client, people, **ancient).status_code == 422
    last = {"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:59:00Z"}
    assert ask(client, people, **last).status_code == 422


def test_limit_and_an_empty_answer_explains_itself(client, people: People):
    window = {"from": "2031-05-02T09:00:00Z", "to": "2031-05-02T12:00:00Z"}
    assert len(ask(client, people, limit=2, **window).json()["slots"]) == 2
    assert put_schedule(client, people, {**SCHEDULE, "working_hours": {}}).status_code == 200
    empty = ask(client, people, **window).json()
    assert empty["slots"] == [] and empty["excluded"]["outside_working_hours"] == 11


def test_time_off_of_an_interviewer_without_a_schedule_blocks_nothing(client, people: People):
    """Without a schedule an interviewer is always available (no schedule, no rules): what
    availability offers, create accepts, time off or not."""
    alone = make_user("interviewer")
    start = datetime(2031, 9, 1, 9, tzinfo=UTC)
    added = client.post(f"/api/v1/interviewers/{alone.id}/time_off",
                        headers=people.auth(people.coordinator),
                        json={"time_off": {"start_at": iso(start),
                                           "end_at": iso(start + timedelta(hours=2))}})
    assert added.status_code == 201
    slots = ask(client, people, interviewers=[alone.id],
                **{"from": iso(start), "to": iso(start + timedelta(minutes=30))}).json()["slots"]
    assert [s["interviewer_ids"] for s in slots] == [[alone.id]]
    book(client, people, iso(start), iso(start + timedelta(minutes=30)), interviewer_id=alone.id,
         interviewee_id=make_interviewee(people.driver).id)
