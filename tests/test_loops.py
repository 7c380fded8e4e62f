"""Loops: several rounds of one interviewee, booked together (all or none) and cancelled
together, each round an interview with `loop_id`."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from db.models import Interview
from db.webhooks import Delivery
from handlers.wire.ical import uid
from tests.helpers.booking import book, iso
from tests.helpers.holds import place
from tests.helpers.loops import loop_body
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.webhooks import subscribe

BASE = datetime(2037, 6, 1, 9, tzinfo=UTC)
days = iter(range(10_000))


class Crew(People):
    """People, plus three interviewers for three rounds."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.rounds = [make_user("interviewer") for _ in range(3)]
        self.candidate = make_interviewee(self.driver)


@pytest.fixture
def crew(app, settings) -> Crew:
    return Crew(settings)


def day() -> datetime:
    return BASE + timedelta(days=next(days))


def three_rounds(crew: Crew, start: datetime) -> list[tuple[datetime, int, list]]:
    return [(start + timedelta(hours=n), person.id, []) for n, person in enumerate(crew.rounds)]


def post(client, crew: Crew, body: dict, who=None, **headers):
    return client.post("/api/v1/loops", json=body,
                       headers={**crew.auth(who or crew.coordinator), **headers})


def test_a_loop_books_every_round_as_an_interview_of_the_loop(client, crew: Crew):
    start = day()
    made = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, start)))
    assert made.status_code == 200, made.text
    loop = made.json()["loop"]
    assert made.headers["location"] == f"/api/v1/loops/{loop['id']}"
    assert loop["status"] == "active" and loop["interviewee_id"] == crew.candidate.id
    rounds = loop["interviews"]
    assert [r["interviewer_id"] for r in rounds] == [p.id for p in crew.rounds]
    assert [r["start_at"] for r in rounds] == [
        iso(start + timedelta(hours=n)).replace("Z", ".000Z") for n in range(3)]
    assert {r["loop_id"] for r in rounds} == {loop["id"]}
    shown = client.get(f"/api/v1/loops/{loop['id']}", headers=crew.auth(crew.rounds[1]))
    assert shown.status_code == 200
    assert [r["id"] for r in shown.json()["loop"]["interviews"]] == [rounds[1]["id"]]
    listed = client.get(f"/api/v1/interviews?loop_id={loop['id']}",
                        headers=crew.auth(crew.coordinator)).json()["interviews"]
    assert [r["id"] for r in listed] == [r["id"] for r in rounds]
    history = client.get(f"/api/v1/interviews/{rounds[0]['id']}/events",
                         headers=crew.auth(crew.coordinator)).json()["events"]
    assert history[0]["changes"]["loop_id"] == {"from": None, "to": loop["id"]}
    assert client.get(f"/api/v1/loops/{loop['id']}",
                      headers=crew.auth(crew.other_driver)).status_code == 404


def test_a_collision_in_round_three_books_nothing(client, crew: Crew):
    start = day()
    taken = book(client, crew, iso(start + timedelta(hours=2, minutes=15)),
                 iso(start + timedelta(hours=2, minutes=45)), interviewer_id=crew.rounds[2].id,
                 interviewee_id=make_interviewee(crew.driver).id)
    before = Interview.select().where(Interview.interviewee == crew.candidate.id).count()
    refused = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, start)))
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "overlap" and problem["conflicts"] == [taken["id"]]
    assert problem["errors"][0]["field"] == "rounds[2]"
    assert problem["interviewer_id"] == crew.rounds[2].id
    assert Interview.select().where(Interview.interviewee == crew.candidate.id).count() == before
    for person in crew.rounds[:2]:
        assert not Interview.select().where(Interview.interviewer == person.id).exists()


def test_a_hold_of_every_round_is_consumed_by_the_loop(client, crew: Crew):
    start = day()
    rounds = three_rounds(crew, start)
    held = place(client, crew, crew.candidate.id, [
        (s, s + timedelta(minutes=45), [lead]) for s, lead, _ in rounds])
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold"]["id"]
    # Nobody else may book the held rounds meanwhile.
    other = post(client, crew, loop_body(make_interviewee(crew.driver).id, rounds[1:2]))
    assert other.status_code == 409 and other.json()["code"] == "held"
    assert other.json()["errors"][0]["field"] == "rounds[0]"
    short = post(client, crew, loop_body(crew.candidate.id, rounds[:2], hold_id=hold_id))
    assert short.status_code == 422 and short.json()["code"] == "hold_mismatch"
    made = post(client, crew, loop_body(crew.candidate.id, rounds, hold_id=hold_id))
    assert made.status_code == 200, made.text
    assert client.get(f"/api/v1/holds/{hold_id}", headers=crew.auth(crew.coordinator)) \
        .json()["hold"]["status"] == "used"


def test_one_interviewer_serves_one_round(client, crew: Crew):
    start = day()
    rounds = three_rounds(crew, start)
    rounds[2] = (rounds[2][0], crew.rounds[2].id,
                 [{"interviewer_id": crew.rounds[0].id, "role": "shadow"}])
    refused = post(client, crew, loop_body(crew.candidate.id, rounds))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "rounds[2].interviewer_id"


def test_rounds_come_in_order(client, crew: Crew):
    start = day()
    rounds = list(reversed(three_rounds(crew, start)))
    refused = post(client, crew, loop_body(crew.candidate.id, rounds))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "rounds[1].start_at"


def test_drivers_may_not_book_loops(client, crew: Crew):
    refused = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, day())),
                   who=crew.driver)
    assert refused.status_code == 403


def test_cancelling_a_loop_cancels_every_active_round(client, crew: Crew):
    loop = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, day()))) \
        .json()["loop"]
    first = loop["interviews"][0]
    assert client.post(f"/api/v1/interviews/{first['id']}/decline",
                       headers=crew.auth(crew.driver)).status_code == 200
    cancelled = client.post(f"/api/v1/loops/{loop['id']}/cancel", json={"reason": "hired"},
                            headers=crew.auth(crew.coordinator))
    assert cancelled.status_code == 200, cancelled.text
    shown = cancelled.json()["loop"]
    assert shown["status"] == "cancelled"
    assert [r["status"] for r in shown["interviews"]] == ["declined", "cancelled", "cancelled"]
    # The interviewers are free again.
    assert post(client, crew, loop_body(make_interviewee(crew.driver).id, [
        (datetime.fromisoformat(r["start_at"]), r["interviewer_id"], [])
        for r in shown["interviews"]])).status_code == 200


def test_a_reason_no_database_stores_is_a_documented_422(client, crew: Crew):
    """Found by the fuzzer, now and then: a NUL in the reason was a 422 the spec did not list."""
    import yaml

    from handlers.platform.app import SPEC

    loop = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, day()))) \
        .json()["loop"]
    refused = client.post(f"/api/v1/loops/{loop['id']}/cancel", json={"reason": "a\x00b"},
                          headers=crew.auth(crew.coordinator))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"] == "reason"
    cancel = yaml.safe_load(SPEC.read_text())["paths"]["/api/v1/loops/{id}/cancel"]["post"]
    assert "422" in cancel["responses"]
    shown = client.get(f"/api/v1/loops/{loop['id']}", headers=crew.auth(crew.coordinator))
    assert {r["status"] for r in shown.json()["loop"]["interviews"]} == {"pending"}


def test_a_loop_is_idempotent(client, crew: Crew):
    body = loop_body(crew.candidate.id, three_rounds(crew, day()))
    first = post(client, crew, body, **{"Idempotency-Key": "loop-once"})
    again = post(client, crew, body, **{"Idempotency-Key": "loop-once"})
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert Interview.select().where(Interview.interviewee == crew.candidate.id).count() == 3


def test_the_search_path_allows_only_its_own_method(client, crew: Crew):
    """/loops/search also fits /loops/{id}: its 405 names its own method only."""
    refused = client.put("/api/v1/loops/search", headers=crew.auth(crew.coordinator))
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"


def test_the_candidates_calendar_feed_shows_each_round(client, crew: Crew):
    soon = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) \
        + timedelta(days=2)  # calendar feeds show the weeks around now
    loop = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, soon))) \
        .json()["loop"]
    made = client.post("/api/v1/me/calendar_feed", headers=crew.auth(crew.driver))
    assert made.status_code == 201, made.text
    feed = client.get(urlsplit(made.json()["calendar_feed"]["url"]).path).text
    for round_ in loop["interviews"]:
        assert f"UID:{uid(round_['id'])}" in feed, feed[:500]


def test_the_feed_and_webhooks_carry_the_loop_id(client, crew: Crew, no_webhooks):
    subscribe(client, crew, crew.driver)
    loop = post(client, crew, loop_body(crew.candidate.id, three_rounds(crew, day()))) \
        .json()["loop"]
    ids = {r["id"] for r in loop["interviews"]}
    payloads = [json.loads(d.payload) for d in Delivery.select()]
    created = [p["data"] for p in payloads if p["type"] == "interview.created"]
    assert {d["interview"]["id"] for d in created} == ids
    assert {d["interview"]["loop_id"] for d in created} == {loop["id"]}
    assert {d["changes"]["loop_id"]["to"] for d in created} == {loop["id"]}
    deadline = time.monotonic() + 15  # PostgreSQL shows an event once older writers ended
    while True:
        feed = client.get("/api/v1/events?type=interview.created&limit=100",
                          headers=crew.auth(crew.driver))  # their own candidate's, from the start
        assert feed.status_code == 200, feed.text
        mine = [e for e in feed.json()["events"] if e["interview_id"] in ids]
        if len(mine) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mine) == 3 and {e["changes"]["loop_id"]["to"] for e in mine} == {loop["id"]}
