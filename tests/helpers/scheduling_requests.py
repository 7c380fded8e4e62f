"""Scheduling requests through the API: a coordinator's offer, the candidate's hold and book."""
from __future__ import annotations

from datetime import datetime, timedelta

from db.fields import utcnow
from tests.helpers.booking import iso
from tests.helpers.people import People


def request_body(interviewee_id: int, start: datetime, rounds: list[tuple[int, list[int], str]],
                 hours: int = 8, gap: tuple[int, int] = (0, 30), expires_in=timedelta(days=2),
                 **fields) -> dict:
    """An offer of `rounds` (minutes, interviewer ids, mode) in [start, start + hours]."""
    return {"scheduling_request": {
        "interviewee_id": interviewee_id, "from": iso(start),
        "to": iso(start + timedelta(hours=hours)),
        "rounds": [{"duration_minutes": m, "interviewer_ids": ids, "mode": mode}
                   for m, ids, mode in rounds],
        "gap_minutes": {"min": gap[0], "max": gap[1]}, "kind": "video_call",
        "location": "https://zoom.com", "expires_at": iso(utcnow() + expires_in), **fields}}


def offer(client, people: People, body: dict, who=None) -> dict:
    made = client.post("/api/v1/scheduling_requests", json=body,
                       headers=people.auth(who or people.coordinator))
    assert made.status_code == 201, made.text
    return made.json()["scheduling_request"]


def options_of(client, people: People, request_id: int, who=None, **params):
    return client.get(f"/api/v1/scheduling_requests/{request_id}/options", params=params,
                      headers=people.auth(who or people.driver))


def hold_option(client, people: People, request: dict, option: dict, who=None, **fields):
    return client.post("/api/v1/holds", headers=people.auth(who or people.driver), json={
        "hold": {"interviewee_id": request["interviewee_id"],
                 "scheduling_request_id": request["id"],
                 "slots": [{k: r[k] for k in ("start_at", "end_at", "interviewer_ids")}
                           for r in option["rounds"]], **fields}})


def book_option(client, people: People, request_id: int, start_at: str,
                hold_id: int | None = None, who=None):
    option = {"start_at": start_at} | ({} if hold_id is None else {"hold_id": hold_id})
    return client.post(f"/api/v1/scheduling_requests/{request_id}/book",
                       json={"option": option}, headers=people.auth(who or people.driver))
