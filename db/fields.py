"""Column types shared by the models."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from peewee import Field


class UTCDateTimeField(Field):
    """A timezone-aware UTC instant, millisecond precision.

    Stored as fixed-width ISO text on SQLite (so text order is time order) and as
    `timestamptz` on PostgreSQL (which parses the same text).
    """

    field_type = "TIMESTAMPTZ"

    def db_value(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")

    def python_value(self, value: str | datetime | None) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(UTC)


def system_clock() -> datetime:
    return datetime.now(UTC)


clock: list[Callable[[], datetime]] = [system_clock]  # the one source of now; tests replace it


def set_clock(source: Callable[[], datetime] = system_clock) -> None:
    """Read now from `source` from here on (tests: a clock they move; no argument: the
    system's). Every rule that reads the time (notice, hold expiry) reads it through here."""
    clock[0] = source


def utcnow() -> datetime:
    """Now, in UTC, truncated to milliseconds (the precision we store and show)."""
    now = clock[0]().astimezone(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso_utc(value: datetime | None) -> str | None:
    """UTC with milliseconds and a Z (`2025-11-20T08:13:05.000Z`), as the API shows time."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
