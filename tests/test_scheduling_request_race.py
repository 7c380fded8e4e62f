"""Scheduling requests under concurrency: two server processes, one database, many books at
once. A request books once; one interviewer is booked once at a time across requests."""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from db.models import Interview
from db.scheduling_requests import SchedulingRequest
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.scheduling_requests import request_body
from tests.helpers.servers import hammer, serving

ATTEMPTS = 16


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=2) as (base, _process):
        yield base


def make_request(people: People, interviewee_id: int, start: datetime, interviewer) -> int:
    from db.fields import utcnow
    from db.scheduling_requests import create_request

    fields = request_body(interviewee_id, start, [(30, [interviewer.id], "any")], hours=8)
    fields = fields["scheduling_request"]
    return create_request(people.coordinator, {
        **fields, "from": start, "to": start + timedelta(hours=8),
        "expires_at": utcnow() + timedelta(days=1)}).id


def book(people: People, driver, request_id: int, start: datetime) -> tuple:
    return (people.auth(driver), {"option": {"start_at": start.isoformat()}}, "POST",
            f"/api/v1/scheduling_requests/{request_id}/book")


def test_of_concurrent_books_of_one_request_exactly_one_wins(server, people: People, db):
    interviewer = make_user("interviewer")
    start = datetime(2039, 5, 2, 9, tzinfo=UTC)
    request_id = make_request(people, people.interviewee.id, start, interviewer)
    statuses = hammer(server, [book(people, people.driver, request_id,
                                    start + timedelta(minutes=30 * n)) for n in range(ATTEMPTS)])
    print(f"\none request, {ATTEMPTS} books: {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
    row = SchedulingRequest.get_by_id(request_id)
    assert row.status == "booked" and len(json.loads(row.interview_ids)) == 1
    assert Interview.select().where(Interview.interviewee == people.interviewee.id,
                                    Interview.start_at >= start).count() == 1


def test_of_requests_sharing_an_interviewer_one_books_each_time(server, people: People, db):
    interviewer = make_user("interviewer")
    start = datetime(2039, 5, 3, 9, tzinfo=UTC)
    offers = []
    for _ in range(ATTEMPTS):
        driver = make_user("driver")
        interviewee = make_interviewee(driver)
        offers.append((driver, make_request(people, interviewee.id, start, interviewer)))
    statuses = hammer(server, [book(people, driver, request_id, start)
                               for driver, request_id in offers])
    print(f"\n{ATTEMPTS} requests, one time, one interviewer: {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
    assert Interview.select().where(Interview.interviewer == interviewer.id).count() == 1
    booked = SchedulingRequest.select().where(SchedulingRequest.id.in_(
        [r for _, r in offers]), SchedulingRequest.status == "booked").count()
    assert booked == 1
