"""Calendars: one interview as a file, and the private per-user feed calendar apps subscribe to."""
from __future__ import annotations

from connexion import request

from db import calendars, scheduling
from handlers.wire import ical
from handlers.wire.present import JSON


def show_interview_calendar(id: int, token_info: dict):
    row = scheduling.visible_interview(token_info["caller"], id)
    return ical.calendar([row]).decode(), 200, {
        "Content-Type": ical.CALENDAR, "Vary": "Authorization",
        "Content-Disposition": f'attachment; filename="interview-{row.id}.ics"'}


def create_calendar_feed(token_info: dict):
    token = calendars.rotate_feed(token_info["caller"])
    url = f"{str(request.base_url).rstrip('/')}/api/v1/calendar/feeds/{token}.ics"
    return {"calendar_feed": {"url": url}}, 201, {"Content-Type": JSON, "Cache-Control": "no-store"}


# A replay of an Idempotency-Key would keep the secret URL in clear: answer it afresh instead.
create_calendar_feed.keeps_no_answer = True


def delete_calendar_feed(token_info: dict):
    calendars.end_feed(token_info["caller"])
    return None, 204


def show_calendar_feed(token: str):
    body = ical.calendar(calendars.feed_interviews(calendars.feed_owner(token)), name="Interviews")
    return body.decode(), 200, {"Content-Type": ical.CALENDAR, "Cache-Control": "private, no-cache"}
