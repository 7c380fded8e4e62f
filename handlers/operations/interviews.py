"""Interview operations: take validated arguments, call the rule, shape the answer."""
from __future__ import annotations

from connexion import request
from starlette.responses import Response  # a 304 has no body for Connexion to serialise

from db import listing, scheduling
from handlers.wire import cursors
from handlers.wire.conditional import if_match, not_modified
from handlers.wire.present import JSON, event, interview, interview_response, not_modified_headers
from handlers.wire.timestamps import with_instants

TIMES = ("start_at", "end_at")
FILTERS = ("status", "kind", "interviewer_id", "interviewee_id", "loop_id", "start_from",
           "start_to", "updated_since")


def create_interview(body: dict, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.book_interview(caller, with_instants(body["interview"], *TIMES))
    return interview_response(row, caller, headers={"Location": f"/api/v1/interviews/{row.id}"})


create_interview_trailing_slash = create_interview


def show_interview(id: int, token_info: dict):
    caller = token_info["caller"]
    row = scheduling.visible_interview(caller, id)
    if not_modified(request.headers, row.etag):
        return Response(status_code=304, headers=not_modified_headers(row.etag))
    return interview_response(row, caller)


def update_interview(id: int, body: dict, token_info: dict):
    caller = token_info["caller"]
    fields = with_instants(body["interview"], *TIMES)
    return interview_response(
        scheduling.edit_interview(caller, id, if_match(request.headers), fields), caller)


def confirm_interview(id: int, token_info: dict, body: dict | None = None):
    return _transition(id, "confirm", token_info, body)


def decline_interview(id: int, token_info: dict, body: dict | None = None):
    return _transition(id, "decline", token_info, body)


def cancel_interview(id: int, token_info: dict, body: dict | None = None):
    return _transition(id, "cancel", token_info, body)


def complete_interview(id: int, token_info: dict, body: dict | None = None):
    return _transition(id, "complete", token_info, body)


def mark_interview_no_show(id: int, token_info: dict, body: dict | None = None):
    return _transition(id, "no_show", token_info, body)


def propose_amendment(id: int, body: dict, token_info: dict):
    caller = token_info["caller"]
    fields = with_instants(body["amendment"], *TIMES, prefix="amendment.")
    return interview_response(
        scheduling.propose_amendment(caller, id, if_match(request.headers), fields), caller)


def accept_amendment(id: int, token_info: dict):
    caller = token_info["caller"]
    return interview_response(
        scheduling.accept_amendment(caller, id, if_match(request.headers)), caller)


def reject_amendment(id: int, token_info: dict):
    caller = token_info["caller"]
    return interview_response(scheduling.close_amendment(
        caller, id, "reject_amendment", if_match(request.headers)), caller)


def withdraw_amendment(id: int, token_info: dict):
    caller = token_info["caller"]
    return interview_response(scheduling.close_amendment(
        caller, id, "withdraw_amendment", if_match(request.headers)), caller)


def respond_to_interview(id: int, body: dict, token_info: dict):
    caller = token_info["caller"]
    answer = body["response"]
    return interview_response(scheduling.respond(
        caller, id, if_match(request.headers), answer["status"], answer.get("reason")), caller)


def list_interview_events(id: int, token_info: dict):
    events = scheduling.history(token_info["caller"], id)
    return {"events": [event(e) for e in events]}, 200, {"Content-Type": JSON}


def list_interviews(token_info: dict, limit: int = 25, cursor: str | None = None, **filters):
    caller = token_info["caller"]
    filters = {k: v for k, v in filters.items() if k in FILTERS and v not in (None, [])}
    query_id = cursors.fingerprint(filters)
    after = cursors.decode(cursor, query_id, cursors.start_and_id) if cursor else None
    rows, more = listing.page_of_interviews(
        caller, with_instants(filters, "start_from", "start_to", "updated_since"), after, limit)
    next_cursor = cursors.encode([rows[-1].start_at.isoformat(), rows[-1].id], query_id) \
        if more else None
    return ({"interviews": [interview(r, caller) for r in rows], "next_cursor": next_cursor}, 200,
            cursors.page_headers(request.url.path, filters, limit, next_cursor))


# Not an operation: the five transitions differ only in their action. (The resolver only
# hands Connexion functions named after an operationId.)
def _transition(id: int, action: str, token_info: dict, body: dict | None):
    caller = token_info["caller"]
    reason = (body or {}).get("reason")
    return interview_response(
        scheduling.transition(caller, id, action, if_match(request.headers), reason), caller)
