"""How resources look on the wire: the documented endpoint's shapes, in its key order."""
from __future__ import annotations

import json
from datetime import datetime

from db.events import event_type
from db.fields import iso_utc as instant
from db.fields import utcnow
from db.models import Event, Interview, Interviewee, User

JSON = "application/json"


def user(person: User) -> dict:
    return {
        "id": person.id, "title": person.title, "role": person.role,
        "phone_number": person.phone_number,
        "contact_phone_number": person.contact_phone_number, "image": person.image,
    }


def candidacy(interviewee: Interviewee) -> dict:
    """An interviewee in the seed's shape, with its driver."""
    driver = interviewee.driver
    return {
        "id": interviewee.id,
        "currency": interviewee.currency,
        "driver": {"id": driver.id, "image": driver.image,
                   "phone_number": driver.phone_number, "title": driver.title},
        "kind": interviewee.kind,
        "updated_at": instant(interviewee.updated_at),
    }


def interviewer_summary(person: User) -> dict:
    """A directory entry: who to book, and in which time zone they work."""
    return {"id": person.id, "title": person.title,
            "contact_phone_number": person.contact_phone_number, "image": person.image,
            "time_zone": person.time_zone}


def interviewers(row: Interview) -> list[dict]:
    """Everyone interviewing: the lead first, then the panel in the order given."""
    return [{"id": m.interviewer.id, "title": m.interviewer.title,
             "contact_phone_number": m.interviewer.contact_phone_number,
             "image": m.interviewer.image, "role": m.role, "response": m.response}
            for m in row.members]


def interview(row: Interview, caller: User) -> dict:
    interviewer, interviewee = row.interviewer, row.interviewee
    return {
        "id": row.id,
        "amend_end_at": instant(row.amend_end_at),
        "amend_start_at": instant(row.amend_start_at),
        "amended_by": row.amended_by_id,
        "end_at": instant(row.end_at),
        "interviewee": candidacy(interviewee),
        "interviewee_id": interviewee.id,
        "interviewer": {"id": interviewer.id,
                        "contact_phone_number": interviewer.contact_phone_number,
                        "image": interviewer.image, "title": interviewer.title},
        "interviewer_id": interviewer.id,
        "kind": row.kind,
        "location": row.location,
        "start_at": instant(row.start_at),
        "status": row.status,
        "status_reason": row.status_reason,
        "created_at": instant(row.created_at),
        "updated_at": instant(row.updated_at),
        "allowed_actions": row.allowed_actions(row.side_of(caller)),
        "interviewers": interviewers(row),
        "loop_id": row.loop_id,
    }


def interview_response(row: Interview, caller: User, status: int = 200,
                       headers: dict[str, str] | None = None) -> tuple[dict, int, dict[str, str]]:
    return (
        {"interview": interview(row, caller)},
        status,
        {"Content-Type": JSON, "ETag": row.etag, "Vary": "Authorization", **(headers or {})},
    )


def event(entry: Event) -> dict:
    return {"id": entry.id, "action": entry.action, "actor_id": entry.actor_id,
            "at": instant(entry.at), "changes": entry.changes_dict, "reason": entry.reason}


def feed_event(entry: Event) -> dict:
    """A history event in the change feed: with its interview and its public type."""
    return {**event(entry), "interview_id": entry.interview_id, "type": event_type(entry.action)}


def not_modified_headers(etag: str) -> dict[str, str]:
    """The headers of a 304 to a conditional read whose `If-None-Match` names the version."""
    return {"ETag": etag, "Vary": "Authorization"}


def schedule_response(schedule: dict, etag: str) -> tuple[dict, int, dict[str, str]]:
    return {"schedule": schedule}, 200, {"Content-Type": JSON, "ETag": etag,
                                         "Vary": "Authorization"}


def time_off(row) -> dict:
    return {"id": row.id, "start_at": instant(row.start_at), "end_at": instant(row.end_at),
            "reason": row.reason}


def slot(start: datetime, end: datetime, interviewer_ids: list[int]) -> dict:
    return {"start_at": instant(start), "end_at": instant(end), "interviewer_ids": interviewer_ids}


def webhook(row, with_secret: bool = False) -> dict:
    """A webhook subscription; its secret only in the answers that make one."""
    shown = {"id": row.id, "url": row.url, "events": row.event_list, "description": row.description,
             "enabled": row.enabled, "created_at": instant(row.created_at)}
    return shown | {"secret": row.secret} if with_secret else shown


def delivery(row) -> dict:
    return {"id": row.id, "event_id": row.event_id, "type": row.type, "status": row.status,
            "attempts": row.attempts, "last_status_code": row.last_status_code,
            "last_error": row.last_error, "next_attempt_at": instant(row.next_attempt_at),
            "delivered_at": instant(row.delivered_at), "created_at": instant(row.created_at)}


def hold(row, now: datetime) -> dict:
    return {"id": row.id, "interviewee_id": row.interviewee_id, "slots": json.loads(row.slots),
            "status": row.status_now(now), "expires_at": instant(row.expires_at),
            "created_at": instant(row.created_at)}


def loop_response(loop, rounds: list[Interview], caller: User,
                  headers: dict[str, str] | None = None) -> tuple[dict, int, dict[str, str]]:
    return ({"loop": {"id": loop.id, "interviewee_id": loop.interviewee_id, "status": loop.status,
                      "interviews": [interview(row, caller) for row in rounds]}},
            200, {"Content-Type": JSON, **(headers or {})})


def itinerary(rounds: list[tuple[datetime, datetime, list[int]]]) -> dict:
    return {"start_at": instant(rounds[0][0]), "end_at": instant(rounds[-1][1]),
            "rounds": [slot(*r) for r in rounds]}


def scheduling_request(row, now: datetime) -> dict:
    return {"id": row.id, "interviewee_id": row.interviewee_id, "status": row.status_now(now),
            "from": instant(row.window_from), "to": instant(row.window_to),
            "rounds": row.round_list(), "gap_minutes": {"min": row.gap_min, "max": row.gap_max},
            "step_minutes": row.step_minutes, "kind": row.kind, "location": row.location,
            "expires_at": instant(row.expires_at), "created_at": instant(row.created_at),
            "interview_ids": json.loads(row.interview_ids), "loop_id": row.loop_id}


def scheduling_request_response(row, status: int = 200, headers: dict[str, str] | None = None
                                ) -> tuple[dict, int, dict[str, str]]:
    return ({"scheduling_request": scheduling_request(row, utcnow())}, status,
            {"Content-Type": JSON, "Cache-Control": "no-store", **(headers or {})})


def scheduling_option(rounds: list[tuple[datetime, datetime, list[int]]],
                      people: dict[int, User]) -> dict:
    """An option as the candidate sees it: times and who, never anyone's other commitments."""
    return {**itinerary(rounds), "rounds": [
        {**slot(start, end, ids), "interviewers": [
            {"id": i, "title": people[i].title, "image": people[i].image} for i in ids]}
        for start, end, ids in rounds]}
