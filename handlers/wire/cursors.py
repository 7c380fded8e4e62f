"""Keyset paging for every list and the change feed: one opaque cursor codec, cursors tied
to their query, and the `Link` header."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode

from db.errors import DomainError, Malformed
from handlers.wire.timestamps import parse_instant

K = TypeVar("K")
NOT_OURS = "not a cursor this API issued"


def pack(values: list) -> str:
    """JSON values as an opaque, URL-safe cursor (base64 without padding)."""
    raw = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(cursor: str, field: str, parse: Callable[[list], K]) -> K:
    """`parse(values)` of a cursor `pack` made; 400 `invalid_cursor` naming `field` for
    anything else (bad base64, JSON, nesting too deep for the parser, values `parse` refuses)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list):
            raise TypeError("not a list")
        return parse(values)
    except (ValueError, TypeError, AttributeError, RecursionError, binascii.Error, DomainError):
        raise Malformed(field, NOT_OURS, code="invalid_cursor") from None


def fingerprint(filters: dict) -> str:
    """Identifies a query's filters, so a cursor is only honoured by the query it came from."""
    canonical = json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in filters.items()},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(keys: list, query_id: str) -> str:
    """A list cursor: the last row's sort keys (JSON values) and the query's id."""
    return pack([*keys, query_id])


def decode(cursor: str, query_id: str, parse: Callable[[list], K]) -> K:
    """The keyset a list cursor holds, via `parse(keys)`; 400 `invalid_cursor` for anything
    else, or for a cursor of a query with other filters."""
    def keyset(values: list) -> tuple[K, object]:
        *keys, cursor_query = values
        return parse(keys), cursor_query

    after, cursor_query = unpack(cursor, "cursor", keyset)
    if cursor_query != query_id:
        raise Malformed("cursor", "belongs to a query with other filters", code="invalid_cursor")
    return after


def row_id(value: object) -> int:
    """An id taken from a cursor, refused (TypeError) unless a database could hold it."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise TypeError("not an id")
    return value


def start_and_id(keys: list) -> tuple[datetime, int]:
    """The keyset of the interview list: (start_at, id)."""
    start, last_id = keys
    return parse_instant(start, "cursor"), row_id(last_id)


def title_and_id(keys: list) -> tuple[str, int]:
    """The keyset of the interviewer directory: (title, id)."""
    title, user_id = keys
    if not isinstance(title, str) or "\x00" in title:
        raise TypeError("not a title")
    title.encode()  # a lone surrogate cannot be sent to the database: ValueError
    return title, row_id(user_id)


def last_id(keys: list) -> int:
    """The keyset of a list ordered by id alone."""
    (only,) = keys
    return row_id(only)


def encode_position(position: tuple[int, int]) -> str:
    """A change-feed cursor: the feed position (transaction id, event id)."""
    return pack(list(position))


def decode_position(cursor: str, max_id: int) -> tuple[int, int]:
    """A feed cursor back to its position; 400 `invalid_cursor` (field `after`) otherwise."""

    def position(values: list) -> tuple[int, int]:
        txid, event_id = values
        if not all(type(v) is int and 0 <= v <= max_id for v in (txid, event_id)):
            raise ValueError("not a position")
        return txid, event_id

    return unpack(cursor, "after", position)


def next_link(path: str, filters: dict, limit: int, next_cursor: str) -> str:
    """`Link` header value pointing at the next page of the same query."""
    query = [(k, v) for k, values in filters.items()
             for v in (values if isinstance(values, list) else [values])]
    query += [("limit", limit), ("cursor", next_cursor)]
    return f'<{path}?{urlencode(query)}>; rel="next"'


def page_headers(path: str, filters: dict, limit: int, next_cursor: str | None) -> dict[str, str]:
    """Response headers of a page: JSON, and `Link` when there is a next page."""
    headers = {"Content-Type": "application/json"}
    if next_cursor:
        headers["Link"] = next_link(path, filters, limit, next_cursor)
    return headers
