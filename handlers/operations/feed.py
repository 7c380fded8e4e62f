"""The change feed: `GET /api/v1/events`, polled with the `next_cursor` of the last page."""
from __future__ import annotations

from db import feed
from handlers.wire import cursors, present


def list_feed_events(token_info: dict, limit: int = 50, after: str | None = None,
                     type: list[str] | None = None):  # the query parameter's name
    start = cursors.decode_position(after, feed.MAX_ID) if after else feed.START
    rows, resume = feed.page_of_events(token_info["caller"], start, limit, type or None)
    body = {"events": [present.feed_event(row) for row in rows],
            "next_cursor": cursors.encode_position(resume)}
    return body, 200, {"Content-Type": present.JSON, "Cache-Control": "no-store"}
