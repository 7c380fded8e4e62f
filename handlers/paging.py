"""Keyset paging for every list: opaque cursors tied to their query, and the `Link` header."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

from connexion import request

from db.errors import DomainError
from handlers.validation import invalid

K = TypeVar("K")


def fingerprint(filters: dict) -> str:
    """Identifies a query's filters, so a cursor is only honoured by the query it came from."""
    canonical = json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in filters.items()},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(keys: list, query_id: str) -> str:
    """An opaque cursor holding the last row's sort keys (JSON values) and the query's id."""
    raw = json.dumps([*keys, query_id], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query_id: str, parse: Callable[[list], K]) -> K:
    """The keyset a cursor holds, via `parse(keys)`; 400 `invalid_cursor` for anything else."""
    try:
        *keys, cursor_query = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = parse(keys)
    except (ValueError, TypeError, AttributeError, RecursionError, binascii.Error, DomainError):
        raise invalid("cursor: not a cursor this API issued", "invalid_cursor",
                      [{"field": "cursor", "message": "not a cursor this API issued"}]) from None
    if cursor_query != query_id:
        raise invalid("cursor: the cursor belongs to a query with other filters", "invalid_cursor",
                      [{"field": "cursor", "message": "belongs to a query with other filters"}])
    return after


def row_id(value: object) -> int:
    """An id taken from a cursor, refused (TypeError) unless a database could hold it."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise TypeError("not an id")
    return value


def next_link(filters: dict, limit: int, next_cursor: str) -> str:
    """`Link` header value pointing at the next page of the current request's query."""
    query = [(k, v) for k, values in filters.items()
             for v in (values if isinstance(values, list) else [values])]
    query += [("limit", limit), ("cursor", next_cursor)]
    return f'<{request.url.path}?{urlencode(query)}>; rel="next"'


def page_headers(filters: dict, limit: int, next_cursor: str | None) -> dict[str, str]:
    """Response headers of a page: JSON, and `Link` when there is a next page."""
    headers = {"Content-Type": "application/json"}
    if next_cursor:
        headers["Link"] = next_link(filters, limit, next_cursor)
    return headers
