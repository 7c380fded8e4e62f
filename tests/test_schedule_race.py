"""Buffers and daily limits hold under concurrency: several server processes, one database."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from db.models import Interview
from tests.conftest import People, interview_body, make_interviewee, serving
from tests.test_race import hammer
from tests.test_schedules import SCHEDULE

ATTEMPTS = 20


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=2) as (base, _process):
        yield base


def with_schedule(client, people: People, **changes) -> None:
    response = client.put(f"/api/v1/interviewers/{people.interviewer.id}/schedule",
                          json={"schedule": {**SCHEDULE, "working_hours": None, **changes}},
                          headers=people.auth(people.coordinator))
    assert response.status_code == 200, response.text


def test_concurrent_bookings_respect_the_daily_limit(client, server, people: People, db):
    with_schedule(client, people, daily_limit=3, buffer_minutes=0)
    day = datetime(2037, 4, 6, 6, tzinfo=UTC)
    requests = []
    for n in range(ATTEMPTS):  # each alone is fine: its own half-hour (one local day), interviewee
        begin = day + timedelta(minutes=30 * n)
        requests.append((people.auth(people.coordinator),
                         interview_body(people, begin.isoformat(), (begin + timedelta(minutes=30)).isoformat(),
                                        interviewee_id=make_interviewee(people.driver).id)))
    statuses = hammer(server, requests)
    print(f"\ndaily limit race: {ATTEMPTS} attempts -> {dict(statuses)}")
    assert statuses == Counter({200: 3, 409: ATTEMPTS - 3})
    assert Interview.select().where(Interview.interviewer == people.interviewer.id).count() == 3


def test_concurrent_bookings_inside_a_buffer_have_one_winner(client, server, people: People, db):
    with_schedule(client, people, daily_limit=None, buffer_minutes=10)
    begin = datetime(2037, 5, 4, 9, tzinfo=UTC)
    requests = []
    for n in range(ATTEMPTS):  # pairs 35 minutes apart: no overlap, but 5 minutes' gap
        start = begin + timedelta(minutes=35 * (n % 2))
        requests.append((people.auth(people.coordinator),
                         interview_body(people, start.isoformat(), (start + timedelta(minutes=30)).isoformat(),
                                        interviewee_id=make_interviewee(people.driver).id)))
    statuses = hammer(server, requests)
    print(f"\nbuffer race: {ATTEMPTS} attempts -> {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
