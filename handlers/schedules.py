"""Schedules, time off and availability: validated arguments in, the rule, the answer out."""
from __future__ import annotations

from connexion import request
from starlette.responses import Response

from db import availability, schedules
from db.fields import iso_utc
from db.scheduling import parse_instant
from handlers.present import JSON


def schedule_response(schedule: dict, tag: str):
    return {"schedule": schedule}, 200, {"Content-Type": JSON, "ETag": tag, "Vary": "Authorization"}


def show_schedule(id: int, token_info: dict):
    schedule, tag = schedules.read_schedule(token_info["caller"], id)
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in none_match.split(",")]
        if "*" in tags or tag in tags:
            return Response(status_code=304, headers={"ETag": tag, "Vary": "Authorization"})
    return schedule_response(schedule, tag)


def replace_schedule(id: int, body: dict, token_info: dict):
    schedule, tag = schedules.write_schedule(token_info["caller"], id, body["schedule"],
                                             request.headers.get("if-match"))
    return schedule_response(schedule, tag)


def time_off(row: schedules.TimeOff) -> dict:
    return {"id": row.id, "start_at": iso_utc(row.start_at), "end_at": iso_utc(row.end_at),
            "reason": row.reason}


def list_time_off(id: int, token_info: dict):
    rows = schedules.time_off_list(token_info["caller"], id)
    return {"time_off": [time_off(r) for r in rows]}, 200, {"Content-Type": JSON}


def create_time_off(id: int, body: dict, token_info: dict):
    fields = body["time_off"]
    row = schedules.add_time_off(
        token_info["caller"], id, parse_instant(fields["start_at"], "time_off.start_at"),
        parse_instant(fields["end_at"], "time_off.end_at"), fields.get("reason"))
    return {"time_off": time_off(row)}, 201, {
        "Content-Type": JSON, "Location": f"/api/v1/interviewers/{id}/time_off/{row.id}"}


def delete_time_off(id: int, time_off_id: int, token_info: dict):
    schedules.remove_time_off(token_info["caller"], id, time_off_id)
    return Response(status_code=204)


def show_availability(token_info: dict, interviewee_id: int, interviewer_id: list[int],
                      duration_minutes: int, step_minutes: int = 15, limit: int = 100, **window):
    slots, excluded = availability.availability(
        token_info["caller"], interviewee_id, interviewer_id,
        parse_instant(window["from"], "from"), parse_instant(window["to"], "to"),
        duration_minutes, step_minutes, limit)
    return {
        "slots": [{"start_at": iso_utc(start), "end_at": iso_utc(end), "interviewer_ids": ids}
                  for start, end, ids in slots],
        "excluded": excluded,
    }, 200, {"Content-Type": JSON, "Cache-Control": "no-store"}
