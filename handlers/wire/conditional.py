"""Conditional requests (RFC 9110 §13): `If-Match` and `If-None-Match`, parsed in one place.

db/ never sees header syntax: it gets the set of entity tags a client named (`ANY` for `*`),
or None when the header was absent, and compares its own ETag with them.
"""
from __future__ import annotations

ANY = "*"


def entity_tags(header: str | None, weak: bool = False) -> frozenset[str] | None:
    """The tags of an If-Match (strong comparison) or If-None-Match (`weak`: a `W/` prefix is
    ignored) value; `*` is the member ANY. None when the header was not sent."""
    if header is None:
        return None
    tags = (tag.strip() for tag in header.split(","))
    return frozenset(tag.removeprefix("W/") if weak else tag for tag in tags if tag)


def if_match(headers) -> frozenset[str] | None:
    """The If-Match tags of a request's headers (any mapping with lower-case `get`)."""
    return entity_tags(headers.get("if-match"))


def not_modified(headers, etag: str) -> bool:
    """True when the request's If-None-Match names `etag` (weak comparison) or is `*`."""
    tags = entity_tags(headers.get("if-none-match"), weak=True)
    return tags is not None and (ANY in tags or etag in tags)
