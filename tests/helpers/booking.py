"""Slots, request bodies, and interviews booked and walked through the API."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from tests.helpers.people import People

hours = itertools.count()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def slot(start: datetime | None = None, minutes: int = 30) -> tuple[str, str]:
    """A slot of `minutes` from `start`, or from a fresh hour no other test uses."""
    start = start or datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=next(hours))
    return iso(start), iso(start + timedelta(minutes=minutes))


def interview_body(people: People, start: str | None = None, end: str | None = None, **overrides):
    if start is None:
        start, end = slot()
    fields = {
        "interviewee_id": people.interviewee.id,
        "interviewer_id": people.interviewer.id,
        "kind": "video_call",
        "location": "https://zoom.com",
        "start_at": start,
        "end_at": end,
    }
    fields.update(overrides)
    return {"interview": fields}


def book(client, people: People, start: str | None = None, end: str | None = None,
         **overrides) -> dict:
    """Create an interview through the API as the coordinator; return its JSON."""
    response = client.post("/api/v1/interviews",
                           json=interview_body(people, start, end, **overrides),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 200, response.text
    return response.json()["interview"]


PAST = datetime(2020, 1, 1, tzinfo=UTC)


past_hours = itertools.count()


def book_past(client, people: People) -> dict:
    """An interview whose start has passed (so it may be completed once confirmed)."""
    return book(client, people, *slot(PAST + timedelta(hours=next(past_hours))))


def bring_to(client, people: People, interview: dict, status: str) -> dict:
    """Walk an interview to `status` through the API."""
    steps = {
        "pending": [],
        "confirmed": [("confirm", people.driver)],
        "declined": [("decline", people.driver)],
        "cancelled": [("cancel", people.interviewer)],
        "completed": [("confirm", people.driver), ("complete", people.interviewer)],
        "no_show": [("confirm", people.driver), ("no_show", people.interviewer)],
    }[status]
    for action, who in steps:
        response = client.post(f"/api/v1/interviews/{interview['id']}/{action}",
                               headers=people.auth(who))
        assert response.status_code == 200, response.text
        interview = response.json()["interview"]
    return interview
