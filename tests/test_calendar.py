"""Calendar files and private feeds, read back with a second, independent parser (`ics`)."""
from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import ics
import pytest

from db.calendars import CalendarFeed
from tests.helpers.booking import book, bring_to, iso, slot
from tests.helpers.people import People

FAR = itertools.count(24 * 100, 2)  # hours from now: inside the feed's year, away from others


def parse(response) -> dict[str, ics.Event]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = ics.Calendar(response.text)
    return {event.uid: event for event in calendar.events}


def sequence(event: ics.Event) -> int:
    return int(next(str(line).split(":", 1)[1] for line in event.extra if line.name == "SEQUENCE"))


def calendar_of(client, people: People, interview: dict, who=None):
    return client.get(f"/api/v1/interviews/{interview['id']}/calendar",
                      headers=people.auth(who or people.driver))


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_calendar_file_has_one_event_with_the_interview(client, people, db):
    people.driver.title = "Zoë Ñúñez"
    people.driver.save()
    interview = book(client, people)
    events = parse(calendar_of(client, people, interview))
    assert list(events) == [f"interview-{interview['id']}@interviews"]
    event = events[f"interview-{interview['id']}@interviews"]
    assert (event.begin.datetime, event.end.datetime) == (utc(interview["start_at"]),
                                                          utc(interview["end_at"]))
    assert event.begin.tzinfo.utcoffset(None) == timedelta(0)
    assert (event.status, sequence(event)) == ("TENTATIVE", 1)
    assert event.location == event.url == "https://zoom.com"
    assert people.driver.title in event.name and people.interviewer.title in event.name
    assert "Zoë Ñúñez" in response_text(client, people, interview)


def response_text(client, people, interview) -> str:
    return calendar_of(client, people, interview).content.decode("utf-8")


def test_an_amendment_moves_the_event_and_raises_its_sequence(client, people):
    interview = bring_to(client, people, book(client, people), "confirmed")
    before = parse(calendar_of(client, people, interview))[
        f"interview-{interview['id']}@interviews"]
    start, end = slot()
    proposed = client.post(f"/api/v1/interviews/{interview['id']}/amendment",
                           headers=people.auth(people.driver),
                           json={"amendment": {"start_at": start, "end_at": end}})
    assert proposed.status_code == 200
    accepted = client.post(f"/api/v1/interviews/{interview['id']}/amendment/accept",
                           headers=people.auth(people.interviewer))
    assert accepted.status_code == 200
    after = parse(calendar_of(client, people, interview, people.interviewer))
    assert list(after) == [before.uid]
    moved = after[before.uid]
    assert sequence(moved) > sequence(before)
    assert sequence(moved) == interview_version(client, people, interview)
    assert (moved.begin.datetime, moved.end.datetime) == (utc(start), utc(end))
    assert moved.begin.datetime != before.begin.datetime
    assert moved.status == "CONFIRMED"


@pytest.mark.parametrize("status, shown", [
    ("confirmed", "CONFIRMED"), ("declined", "CANCELLED"), ("cancelled", "CANCELLED"),
])
def test_status_follows_the_interview(client, people, status, shown):
    interview = bring_to(client, people, book(client, people), status)
    event = next(iter(parse(calendar_of(client, people, interview)).values()))
    assert (event.status, sequence(event)) == (shown, interview_version(client, people, interview))


def interview_version(client, people, interview) -> int:
    etag = client.get(f"/api/v1/interviews/{interview['id']}",
                      headers=people.auth(people.coordinator)).headers["etag"]
    return int(etag.strip('"').split("-")[1])


def test_completed_and_no_show_are_confirmed_and_phone_calls_have_no_url(client, people):
    from tests.helpers.booking import book_past

    for status in ("completed", "no_show"):
        interview = bring_to(client, people, book_past(client, people), status)
        event = next(iter(parse(calendar_of(client, people, interview)).values()))
        assert event.status == "CONFIRMED"
    phone = book(client, people, kind="phone_call", location=None)
    event = next(iter(parse(calendar_of(client, people, phone)).values()))
    assert (event.location, event.url) == (None, None)


def test_calendar_of_an_interview_not_yours_is_404(client, people):
    interview = book(client, people)
    response = calendar_of(client, people, interview, people.other_driver)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/api/v1/interviews/{interview['id']}/calendar").status_code == 401


def make_feed(client, people: People, who) -> str:
    response = client.post("/api/v1/me/calendar_feed", headers=people.auth(who))
    assert response.status_code == 201, response.text
    url = response.json()["calendar_feed"]["url"]
    assert url.startswith("http") and url.endswith(".ics")
    return urlsplit(url).path


def test_a_feed_is_bounded(client, people, monkeypatch):
    from db import calendars

    for _ in range(3):
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=next(FAR))
        book(client, people, iso(start), iso(start + timedelta(minutes=30)))
    monkeypatch.setattr(calendars, "MAX_EVENTS", 2)
    events = parse(client.get(make_feed(client, people, people.driver)))
    assert len(events) == 2


def test_feed_holds_my_interviews_without_a_bearer_and_none_of_a_strangers(client, people):
    now = datetime.now(UTC).replace(microsecond=0)
    soon = book(client, people,
                *map(iso, (now + timedelta(days=2), now + timedelta(days=2, minutes=30))))
    recent = book(client, people,
                  *map(iso, (now - timedelta(days=3), now - timedelta(days=3, minutes=-30))))
    cancelled = bring_to(client, people, book(client, people, *map(
        iso, (now + timedelta(days=3), now + timedelta(days=3, minutes=30)))), "cancelled")
    too_far = book(client, people,
                   *map(iso, (now + timedelta(days=400), now + timedelta(days=400, minutes=30))))
    too_old = book(client, people,
                   *map(iso, (now - timedelta(days=40), now - timedelta(days=40, minutes=-30))))
    strangers = book(client, people,
                     *map(iso, (now + timedelta(days=2), now + timedelta(days=2, minutes=30))),
                     interviewee_id=people.other_interviewee.id,
                     interviewer_id=people.other_interviewer.id)
    path = make_feed(client, people, people.driver)
    events = parse(client.get(path))  # no Authorization header: calendar apps send none
    uid = "interview-{}@interviews".format
    assert set(events) == {uid(soon["id"]), uid(recent["id"]), uid(cancelled["id"])}
    assert events[uid(cancelled["id"])].status == "CANCELLED"
    assert events[uid(soon["id"])].status == "TENTATIVE"
    assert uid(strangers["id"]) not in events and uid(too_far["id"]) not in events
    assert uid(too_old["id"]) not in events


def test_rotation_kills_the_old_url_and_only_a_hash_is_stored(client, people, db):
    old = make_feed(client, people, people.interviewer)
    assert client.get(old).status_code == 200
    new = make_feed(client, people, people.interviewer)
    assert new != old
    gone = client.get(old)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert client.get(new).status_code == 200
    token = new.rsplit("/", 1)[1].removesuffix(".ics")
    stored = CalendarFeed.get_by_id(people.interviewer.id).token_sha256
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_an_idempotency_key_does_not_replay_the_secret(client, people):
    headers = {**people.auth(people.driver), "Idempotency-Key": "feed-1"}
    first = client.post("/api/v1/me/calendar_feed", headers=headers).json()["calendar_feed"]["url"]
    second = client.post("/api/v1/me/calendar_feed", headers=headers).json()["calendar_feed"]["url"]
    assert first != second
    assert client.get(urlsplit(first).path).status_code == 404


def test_deleting_the_feed_ends_it(client, people):
    path = make_feed(client, people, people.driver)
    assert client.delete("/api/v1/me/calendar_feed",
                         headers=people.auth(people.driver)).status_code == 204
    assert client.get(path).status_code == 404
    assert client.delete("/api/v1/me/calendar_feed",
                         headers=people.auth(people.driver)).status_code == 204


@pytest.mark.parametrize("token", ["A" * 43, "short", "A" * 42 + "!"])
def test_an_unknown_or_malformed_token_is_a_problem(client, token):
    response = client.get(f"/api/v1/calendar/feeds/{token}.ics")
    assert response.status_code in (400, 404)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.status_code == (404 if token == "A" * 43 else 400)
