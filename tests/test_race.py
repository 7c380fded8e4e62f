"""No double-booking under concurrency: many clients, several server processes, one database."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from db.models import Interview
from tests.helpers.booking import interview_body
from tests.helpers.people import People, make_interviewee
from tests.helpers.servers import hammer, serving

ATTEMPTS = 40


@pytest.fixture(scope="module")
def server(app, database_url):
    """`interviews serve` with two worker processes on the test database."""
    with serving(database_url, workers=2) as (base, _process):
        yield base


def test_concurrent_overlapping_bookings_have_one_winner(server, people: People, db):
    start = datetime(2035, 6, 1, 9, tzinfo=UTC)
    requests = []
    for attempt in range(ATTEMPTS):
        # Every slot overlaps every other: same interviewer, starts a minute apart.
        begin = start + timedelta(minutes=attempt % 10)
        body = interview_body(people, begin.isoformat(),
                              (begin + timedelta(minutes=30)).isoformat())
        requests.append((people.auth(people.coordinator), body))
    statuses = hammer(server, requests)
    print(f"\nrace: {ATTEMPTS} attempts -> {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
    assert Interview.select().where(Interview.interviewer == people.interviewer.id).count() == 1


def test_concurrent_bookings_of_one_interviewee_by_many_interviewers(server, people: People, db):
    from tests.helpers.people import make_user

    interviewers = [make_user("interviewer") for _ in range(8)]
    begin = datetime(2035, 7, 1, 9, tzinfo=UTC)
    requests = [
        (people.auth(people.coordinator),
         interview_body(people, begin.isoformat(), (begin + timedelta(hours=1)).isoformat(),
                        interviewer_id=interviewer.id))
        for interviewer in interviewers for _ in range(3)
    ]
    statuses = hammer(server, requests)
    assert statuses == Counter({200: 1, 409: len(requests) - 1})
    assert Interview.select().where(Interview.interviewee == people.interviewee.id).count() == 1


def pending_interviews(base: str, people: People, count: int, day: int) -> list[int]:
    """`count` pending interviews of one interviewer, at distinct times, each with its own
    interviewee."""
    ids = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for n in range(count):
            interviewee = make_interviewee(people.driver)
            begin = datetime(2036, 1, day, 6, tzinfo=UTC) + timedelta(hours=n)
            body = interview_body(people, begin.isoformat(),
                                  (begin + timedelta(minutes=30)).isoformat(),
                                  interviewee_id=interviewee.id)
            response = http.post("/api/v1/interviews", json=body,
                                 headers=people.auth(people.coordinator))
            assert response.status_code == 200, response.text
            ids.append(response.json()["interview"]["id"])
    return ids


TARGET = {"start_at": "2036-02-01T09:00:00Z", "end_at": "2036-02-01T10:00:00Z"}


def test_concurrent_edits_into_one_slot_have_one_winner(server, people: People, db):
    ids = pending_interviews(server, people, 12, day=1)
    statuses = hammer(server, [(people.auth(people.interviewer), {"interview": TARGET}, "PATCH",
                                f"/api/v1/interviews/{i}") for i in ids])
    print(f"\nedit race: {len(ids)} attempts -> {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: len(ids) - 1})


def test_concurrent_amendment_accepts_have_one_winner(server, people: People, db):
    target = {"start_at": "2036-03-01T09:00:00Z", "end_at": "2036-03-01T10:00:00Z"}
    ids = pending_interviews(server, people, 12, day=2)
    proposals = hammer(server, [(people.auth(people.driver), {"amendment": target}, "POST",
                                 f"/api/v1/interviews/{i}/amendment") for i in ids])
    assert proposals == Counter({200: len(ids)})
    statuses = hammer(server, [(people.auth(people.interviewer), None, "POST",
                                f"/api/v1/interviews/{i}/amendment/accept") for i in ids])
    print(f"\naccept race: {len(ids)} attempts -> {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: len(ids) - 1})
    moved = Interview.select().where(Interview.interviewer == people.interviewer.id,
                                     Interview.status == "confirmed").count()
    assert moved == 1
