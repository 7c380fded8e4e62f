"""Interview operations: take validated arguments, call the rule, shape the answer."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from urllib.parse import urlencode

from connexion import request
from starlette.responses import Response

from db import scheduling
from db.errors import DomainError
from db.scheduling import parse_instant, visible_interview
from handlers.present import JSON, event, interview, interview_response
from handlers.validation import invalid

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
    after = decode_cursor(cursor, query_id) if cursor else None
    rows, more = scheduling.page_of_interviews(caller, filters, after, limit)
    next_cursor = encode_cursor(rows[-1], query_id) if more else None
    headers = {"Content-Type": JSON}
    if next_cursor:
        query = [(k, v) for k, values in filters.items()
                 for v in (values if isinstance(values, list) else [values])]
        query += [("limit", limit), ("cursor", next_cursor)]
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return {"interviews": [interview(r, caller) for r in rows], "next_cursor": next_cursor}, 200, headers


def if_match() -> str | None:
    return request.headers.get("if-match")


def fingerprint(filters: dict) -> str:
    """Identifies a query's filters, so a cursor is only honoured by the query it came from."""
    canonical = json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in filters.items()},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(last, query_id: str) -> str:
    raw = json.dumps([last.start_at.isoformat(), last.id, query_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query_id: str):
    try:
        start, last_id, cursor_query = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = (parse_instant(start, "cursor"), int(last_id))
    except (ValueError, TypeError, AttributeError, binascii.Error, DomainError):
        raise invalid("cursor: not a cursor this API issued", "invalid_cursor",
                      [{"field": "cursor", "message": "not a cursor this API issued"}]) from None
    if cursor_query != query_id:
        raise invalid("cursor: the cursor belongs to a query with other filters", "invalid_cursor",
                      [{"field": "cursor", "message": "belongs to a query with other filters"}])
    return after
