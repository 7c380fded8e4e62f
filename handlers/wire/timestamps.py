"""Timestamps as clients send them: RFC 3339 with an offset, read into UTC datetimes here,
before anything in db/ sees them."""
from __future__ import annotations

from datetime import UTC, datetime

from db.errors import Invalid


def parse_instant(value: str, field: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as UTC truncated to milliseconds.

    Also takes what OpenAPI Generator clients send in query parameters by default,
    `2025-11-20T08:13:05.000000+0000` (no colon in the offset); bodies are held to RFC 3339
    by their schema before they get here.
    """
    try:
        parsed = datetime.fromisoformat(value.upper())
        if parsed.tzinfo is None:
            raise Invalid(field, "the timestamp must carry an offset (e.g. Z or +01:00)")
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(field, "not a valid RFC 3339 timestamp") from None
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def with_instants(fields: dict, *names: str, prefix: str = "") -> dict:
    """`fields` with each of `names` that is present read as an instant (`prefix` + name
    names it in an error)."""
    return {**fields, **{name: parse_instant(fields[name], prefix + name)
                         for name in names if name in fields}}
