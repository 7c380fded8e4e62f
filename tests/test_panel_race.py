"""Panels under concurrency: two server processes, one database, many clients at once."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from db.models import InterviewMember
from tests.helpers.booking import interview_body, iso
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.servers import hammer, serving

ATTEMPTS = 20


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=2) as (base, _process):
        yield base


def seats_of(interviewer_id: int, start: datetime, end: datetime) -> list[int]:
    """Interviews where this person holds an active seat overlapping [start, end)."""
    member = InterviewMember
    return [row.interview_id for row in member.select(member.interview).where(
        member.interviewer == interviewer_id, member.active == True,
        member.start_at < end, member.end_at > start)]


def never_two_overlapping(interviewer_id: int) -> None:
    member = InterviewMember
    rows = sorted(member.select(member.start_at, member.end_at)
                  .where(member.interviewer == interviewer_id, member.active == True).tuples())
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(rows)), rows


def booking(people: People, start: datetime, minutes: int = 30, **fields) -> tuple:
    body = interview_body(people, iso(start), iso(start + timedelta(minutes=minutes)),
                          interviewee_id=make_interviewee(people.driver).id, **fields)
    return people.auth(people.coordinator), body


def report(name: str, statuses: Counter) -> None:
    print(f"\n{name}: {sum(statuses.values())} attempts -> {dict(sorted(statuses.items()))}")


def test_bookings_sharing_one_panelist_at_one_time_have_one_winner(server, people: People, db):
    panelist = make_user("interviewer")
    start = datetime(2038, 3, 1, 9, tzinfo=UTC)
    requests = []
    for n in range(ATTEMPTS):  # each its own lead and interviewee: only the panelist is shared
        lead = make_user("interviewer")
        role = "panelist" if n % 2 else "shadow"
        requests.append(booking(people, start + timedelta(minutes=n % 10), interviewer_id=lead.id,
                                panel=[{"interviewer_id": panelist.id, "role": role}]))
    statuses = hammer(server, requests)
    report("shared panelist race", statuses)
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
    assert len(seats_of(panelist.id, start, start + timedelta(hours=1))) == 1
    never_two_overlapping(panelist.id)


def test_a_panelists_weekly_limit_of_two_admits_two(client, server, people: People, db):
    panelist, lead = make_user("interviewer"), make_user("interviewer")
    put = client.put(f"/api/v1/interviewers/{panelist.id}/schedule",
                     headers=people.auth(people.coordinator), json={"schedule": {
                         "time_zone": "Europe/London", "working_hours": None, "buffer_minutes": 0,
                         "daily_limit": None, "minimum_notice_minutes": 0, "weekly_limit": 2}})
    assert put.status_code == 200, put.text
    monday = datetime(2038, 4, 5, 6, tzinfo=UTC)
    requests = [booking(people, monday + timedelta(hours=5 * n), interviewer_id=lead.id,
                        panel=[{"interviewer_id": panelist.id, "role": "panelist"}])
                for n in range(ATTEMPTS)]  # distinct times in one local week: only the limit bites
    statuses = hammer(server, requests)
    report("weekly limit race", statuses)
    assert statuses == Counter({200: 2, 409: ATTEMPTS - 2})
    assert len(seats_of(panelist.id, monday, monday + timedelta(days=7))) == 2


def test_a_decline_racing_bookings_of_the_freed_time(client, server, people: People, db):
    """Each round: a member declines while others try to book them at that time. The seat is
    freed, so at most one booking gets it; then their answering again races fresh bookings:
    exactly one of those wins. Never two active seats of theirs overlap."""
    member = make_user("interviewer")
    totals: Counter = Counter()
    for round_ in range(4):
        start = datetime(2038, 5, 3, 9, tzinfo=UTC) + timedelta(days=round_)
        interview = client.post("/api/v1/interviews", headers=people.auth(people.coordinator),
                                json=interview_body(
                                    people, iso(start), iso(start + timedelta(hours=1)),
                                    interviewee_id=make_interviewee(people.driver).id,
                                    panel=[{"interviewer_id": member.id, "role": "panelist"}]))
        assert interview.status_code == 200, interview.text
        answer = f"/api/v1/interviews/{interview.json()['interview']['id']}/response"

        # The decline always succeeds, and one booking may follow it.
        wins, seats = race(server, people, member, start, answer, "declined", totals)
        assert wins in (1, 2) and seats == wins - 1
        if seats == 0:  # the time is free: the answer again or one booking wins
            wins, seats = race(server, people, member, start, answer, "accepted", totals)
            assert wins == 1 and seats == 1
    report("decline race (4 rounds)", totals)


def race(server: str, people: People, member, start: datetime, answer: str, status: str,
         totals: Counter) -> tuple[int, int]:
    """The member's answer in the middle of a burst of bookings of them at that time (all
    overlapping one another); (winners, their active seats then)."""
    rivals = [(*booking(people, start + timedelta(minutes=5 * (n % 3)), interviewer_id=member.id),
               "POST", "/api/v1/interviews") for n in range(8)]
    respond = (people.auth(member), {"response": {"status": status}}, "POST", answer)
    statuses = hammer(server, rivals[:4] + [respond] + rivals[4:])
    totals.update(statuses)
    assert not [s for s in statuses if s >= 500], statuses
    never_two_overlapping(member.id)
    return statuses[200], len(seats_of(member.id, start, start + timedelta(hours=1)))
