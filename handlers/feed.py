"""The change feed: `GET /api/v1/events`, polled with the `next_cursor` of the last page."""
from __future__ import annotations

import base64
import binascii
import json

from db import feed
from db.events import event_type
from handlers.present import JSON, event
from handlers.validation import invalid


def list_feed_events(token_info: dict, limit: int = 50, after: str | None = None,
                     type: list[str] | None = None):  # the query parameter's name
    caller = token_info["caller"]
    start = decode_position(after) if after else feed.START
    rows, resume = feed.page_of_events(caller, start, limit, type or None)
    body = {"events": [{**event(row), "interview_id": row.interview_id,
                        "type": event_type(row.action)} for row in rows],
            "next_cursor": encode_position(resume)}
    return body, 200, {"Content-Type": JSON, "Cache-Control": "no-store"}


def encode_position(position: feed.Position) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def decode_position(cursor: str) -> feed.Position:
    """A cursor this API issued, back to its feed position; 400 `invalid_cursor` otherwise."""
    try:
        txid, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not all(type(v) is int and 0 <= v <= feed.MAX_ID for v in (txid, event_id)):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise invalid("after: not a cursor this API issued", "invalid_cursor",
                      [{"field": "after", "message": "not a cursor this API issued"}]) from None
    return txid, event_id
