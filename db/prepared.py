"""Reads compiled to SQL once: the SELECTs every request makes, re-run with new values."""
from __future__ import annotations

from datetime import UTC, datetime

from db.fields import UTCDateTimeField
from db.models import database

ID_MARKER, OTHER_ID_MARKER = -9_000_000_000_000_001, -9_000_000_000_000_002


# Markers for UTCDateTimeField values: the microseconds tell them apart.
TIME_MARKERS = tuple(datetime(1000, 1, 1, microsecond=n, tzinfo=UTC) for n in (1, 2, 3))


def id_markers(count: int) -> tuple[int, ...]:
    """`count` distinct integer markers for a compiled read's ids (none is ID_MARKER's)."""
    return tuple(ID_MARKER - 1000 - n for n in range(count))


def time_markers(count: int) -> tuple[datetime, ...]:
    """`count` distinct timestamp markers (none is one of TIME_MARKERS)."""
    return tuple(datetime(1000, 1, 1, microsecond=500 + n, tzinfo=UTC) for n in range(count))


def as_param(value: object) -> object:
    """A value as a query parameter: datetimes as UTCDateTimeField stores them."""
    return UTCDateTimeField().db_value(value) if isinstance(value, datetime) else value


class Prepared:
    """A SELECT built with peewee once, compiled to SQL once, then re-run with new values.

    Peewee renders SQL text on every execution; for the reads every request makes (the
    caller, one interview, a page of a list) that was a sixth of the request. `build(*markers)`
    uses each marker as a parameter (TIME_MARKERS for timestamps) wherever it likes, every
    occurrence takes the value; rows come back as peewee builds them (joins included).
    """

    def __init__(self, build, *markers: object) -> None:
        self.build, self.markers = build, markers
        self.compiled: dict[int, tuple] = {}

    def __call__(self, *values: object) -> list:
        entry = self.compiled.get(id(database.obj))
        if entry is None:
            query = self.build(*self.markers)
            sql, params = query.sql()
            forms = [as_param(marker) for marker in self.markers]
            slots = [[i for i, param in enumerate(params) if param == form] for form in forms]
            entry = self.compiled[id(database.obj)] = (query, sql, params, slots)
        query, sql, params, slots = entry
        params = list(params)
        for indices, value in zip(slots, values):
            for index in indices:
                params[index] = as_param(value)
        return list(query._get_cursor_wrapper(database.execute_sql(sql, params)))
