"""Schedules, time off and availability: validated arguments in, the rule, the answer out."""
from __future__ import annotations

from connexion import request
from starlette.responses import Response  # a 304 has no body for Connexion to serialise

from db import availability, schedules
from handlers.wire import present
from handlers.wire.conditional import if_match, not_modified
from handlers.wire.timestamps import parse_instant, with_instants


def show_schedule(id: int, token_info: dict):
    schedule, tag = schedules.read_schedule(token_info["caller"], id)
    if not_modified(request.headers, tag):
        return Response(status_code=304, headers=present.not_modified_headers(tag))
    return present.schedule_response(schedule, tag)


def replace_schedule(id: int, body: dict, token_info: dict):
    schedule, tag = schedules.write_schedule(token_info["caller"], id, body["schedule"],
                                             if_match(request.headers))
    return present.schedule_response(schedule, tag)


def list_time_off(id: int, token_info: dict):
    rows = schedules.time_off_list(token_info["caller"], id)
    return {"time_off": [present.time_off(r) for r in rows]}, 200, {"Content-Type": present.JSON}


def create_time_off(id: int, body: dict, token_info: dict):
    fields = with_instants(body["time_off"], "start_at", "end_at", prefix="time_off.")
    row = schedules.add_time_off(token_info["caller"], id, fields["start_at"], fields["end_at"],
                                 fields.get("reason"))
    return {"time_off": present.time_off(row)}, 201, {
        "Content-Type": present.JSON, "Location": f"/api/v1/interviewers/{id}/time_off/{row.id}"}


def delete_time_off(id: int, time_off_id: int, token_info: dict):
    schedules.remove_time_off(token_info["caller"], id, time_off_id)
    return None, 204


def show_availability(token_info: dict, interviewee_id: int, interviewer_id: list[int],
                      duration_minutes: int, step_minutes: int = 15, limit: int = 100,
                      mode: str = "any", **window):
    slots, excluded = availability.availability(
        token_info["caller"], interviewee_id, interviewer_id,
        parse_instant(window["from"], "from"), parse_instant(window["to"], "to"),
        duration_minutes, step_minutes, limit, mode)
    return {"slots": [present.slot(*slot) for slot in slots], "excluded": excluded}, 200, {
        "Content-Type": present.JSON, "Cache-Control": "no-store"}
