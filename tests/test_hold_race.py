"""Holds under concurrency: two server processes, one database, many clients at once."""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from db.fields import utcnow
from db.holds import Hold, HoldSeat
from db.models import Interview
from tests.helpers.booking import interview_body, iso
from tests.helpers.holds import hold_body
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.servers import hammer, serving

ATTEMPTS = 20


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=2) as (base, _process):
        yield base


def report(name: str, statuses: Counter) -> None:
    print(f"\n{name}: {sum(statuses.values())} attempts -> {dict(sorted(statuses.items()))}")


def active_holds_of(interviewer_id: int, start: datetime, end: datetime) -> int:
    return HoldSeat.select().where(HoldSeat.person_id == interviewer_id, HoldSeat.active == True,
                                   HoldSeat.start_at < end, HoldSeat.end_at > start).count()


def interviews_of(interviewer_id: int, start: datetime, end: datetime) -> int:
    return Interview.select().where(Interview.interviewer == interviewer_id,
                                    Interview.start_at < end, Interview.end_at > start).count()


def test_of_concurrent_holds_for_one_slot_exactly_one_wins(server, people: People, db):
    interviewer = make_user("interviewer")
    start = datetime(2039, 3, 1, 9, tzinfo=UTC)
    requests = []
    for n in range(ATTEMPTS):  # each for its own interviewee, overlapping one another
        begin = start + timedelta(minutes=n % 10)
        requests.append((people.auth(people.coordinator), hold_body(
            make_interviewee(people.driver).id,
            [(begin, begin + timedelta(minutes=30), [interviewer.id])]), "POST", "/api/v1/holds"))
    statuses = hammer(server, requests)
    report("hold race", statuses)
    assert statuses == Counter({201: 1, 409: ATTEMPTS - 1})
    assert active_holds_of(interviewer.id, start, start + timedelta(hours=1)) == 1


def test_of_holds_and_creates_mixed_exactly_one_wins(server, people: People, db):
    interviewer = make_user("interviewer")
    start = datetime(2039, 3, 2, 9, tzinfo=UTC)
    requests = []
    for n in range(ATTEMPTS):
        begin = start + timedelta(minutes=n % 10)
        interviewee = make_interviewee(people.driver).id
        if n % 2:
            requests.append((people.auth(people.coordinator), hold_body(
                interviewee, [(begin, begin + timedelta(minutes=30), [interviewer.id])]),
                "POST", "/api/v1/holds"))
        else:
            requests.append((people.auth(people.coordinator), interview_body(
                people, iso(begin), iso(begin + timedelta(minutes=30)),
                interviewer_id=interviewer.id, interviewee_id=interviewee)))
    statuses = hammer(server, requests)
    report("hold and create race", statuses)
    assert statuses[409] == ATTEMPTS - 1 and statuses[200] + statuses[201] == 1
    window = (start, start + timedelta(hours=1))
    assert active_holds_of(interviewer.id, *window) + interviews_of(interviewer.id, *window) == 1


def test_a_hold_expiring_while_bookings_check_it_is_never_counted_twice(server, people, db):
    """The owner books over their hold while others try the same slot, and the hold runs out
    in the middle of the burst: exactly one interview, whoever got it."""
    owner = people.coordinator
    interviewer = make_user("interviewer")
    start = datetime(2039, 3, 3, 9, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    interviewee = make_interviewee(people.driver).id
    made = httpx.post(server + "/api/v1/holds", headers=people.auth(owner), json=hold_body(
        interviewee, [(start, end, [interviewer.id])], ttl_seconds=30))
    assert made.status_code == 201, made.text
    hold_id = made.json()["hold"]["id"]
    # Bring the expiry to 0.4 s from now (rather than wait 30 s): the burst spans it.
    expires = utcnow() + timedelta(seconds=0.4)
    Hold.update(expires_at=expires).where(Hold.id == hold_id).execute()
    HoldSeat.update(expires_at=expires).where(HoldSeat.hold == hold_id).execute()
    requests = []
    for n in range(ATTEMPTS * 2):
        if n % 4 == 0:  # the owner, again and again: only one use can succeed
            body = interview_body(people, iso(start), iso(end), interviewer_id=interviewer.id,
                                  interviewee_id=interviewee, hold_id=hold_id)
        else:
            body = interview_body(people, iso(start), iso(end), interviewer_id=interviewer.id,
                                  interviewee_id=make_interviewee(people.driver).id)
        requests.append((n * 0.02, body))

    with httpx.Client(base_url=server, timeout=30) as http:
        def send(item):
            delay, body = item
            time.sleep(delay)  # spread over 0.8 s, across the expiry
            response = http.post("/api/v1/interviews", json=body, headers=people.auth(owner))
            return response.status_code, response.json().get("code")

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = Counter(pool.map(send, requests))
    report("expiry race", Counter(status for status, _ in answers.elements()))
    assert sum(n for (status, _), n in answers.items() if status == 200) == 1
    assert interviews_of(interviewer.id, start, end) == 1
    assert {code for status, code in answers if status != 200} <= {
        "held", "overlap", "hold_expired", "hold_used"}
