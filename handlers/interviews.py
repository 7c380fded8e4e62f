"""Interview operations: take validated arguments, call the rule, shape the answer."""
from __future__ import annotations

from connexion import request
from starlette.responses import Response

from db import scheduling
from db.scheduling import parse_instant, visible_interview
from handlers.paging import decode_cursor, encode_cursor, fingerprint, page_headers, row_id
from handlers.present import JSON, event, interview, interview_response

FILTERS = ("status", "kind", "interviewer_id", "interviewee_id", "start_from", "start_to",
           "updated_since")


def create_interview(body: dict, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.book_interview(caller, body["interview"])
    return interview_response(row, caller, headers={"Location": f"/api/v1/interviews/{row.id}"})


create_interview_trailing_slash = create_interview


def show_interview(id: int, token_info: dict):
    caller = token_info["caller"]
    row = visible_interview(caller, id)
    if row.matches(request.headers.get("if-none-match")):
        return Response(status_code=304, headers={"ETag": row.etag, "Vary": "Authorization"})
    return interview_response(row, caller)


def update_interview(id: int, body: dict, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.edit_interview(caller, id, if_match(), body["interview"])
    return interview_response(row, caller)


def transition(id: int, action: str, token_info: dict, body: dict | None):
    caller = token_info["caller"]
    reason = (body or {}).get("reason")
    return interview_response(scheduling.transition(caller, id, action, if_match(), reason), caller)


def confirm_interview(id: int, token_info: dict, body: dict | None = None):
    return transition(id, "confirm", token_info, body)


def decline_interview(id: int, token_info: dict, body: dict | None = None):
    return transition(id, "decline", token_info, body)


def cancel_interview(id: int, token_info: dict, body: dict | None = None):
    return transition(id, "cancel", token_info, body)


def complete_interview(id: int, token_info: dict, body: dict | None = None):
    return transition(id, "complete", token_info, body)


def mark_interview_no_show(id: int, token_info: dict, body: dict | None = None):
    return transition(id, "no_show", token_info, body)


def propose_amendment(id: int, body: dict, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.propose_amendment(caller, id, if_match(), body["amendment"])
    return interview_response(row, caller)


def accept_amendment(id: int, token_info: dict):
    caller = token_info["caller"]
    return interview_response(scheduling.accept_amendment(caller, id, if_match()), caller)


def reject_amendment(id: int, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.close_amendment(caller, id, "reject_amendment", if_match())
    return interview_response(row, caller)


def withdraw_amendment(id: int, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.close_amendment(caller, id, "withdraw_amendment", if_match())
    return interview_response(row, caller)


def list_interview_events(id: int, token_info: dict):
    events = scheduling.history(token_info["caller"], id)
    return {"events": [event(e) for e in events]}, 200, {"Content-Type": JSON}


def list_interviews(token_info: dict, limit: int = 25, cursor: str | None = None, **filters):
    caller = token_info["caller"]
    filters = {k: v for k, v in filters.items() if k in FILTERS and v not in (None, [])}
    query_id = fingerprint(filters)
    after = decode_cursor(cursor, query_id, start_and_id) if cursor else None
    rows, more = scheduling.page_of_interviews(caller, filters, after, limit)
    next_cursor = encode_cursor([rows[-1].start_at.isoformat(), rows[-1].id], query_id) if more else None
    return ({"interviews": [interview(r, caller) for r in rows], "next_cursor": next_cursor}, 200,
            page_headers(filters, limit, next_cursor))


def start_and_id(keys: list) -> tuple:
    start, last_id = keys
    return parse_instant(start, "cursor"), row_id(last_id)


def if_match() -> str | None:
    return request.headers.get("if-match")
