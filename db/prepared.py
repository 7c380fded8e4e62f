"""Reads compiled to SQL once: the SELECTs every request makes, re-run with new values."""
from __future__ import annotations

from datetime import UTC, datetime

from peewee import FieldAlias, ForeignKeyField

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


Link = tuple[int, str, int]  # (source, foreign key of the parent it hangs on, parent source)


class Rows:
    """Models from a compiled read's row tuples, as peewee's cursor wrapper builds them (each
    selected source's fields, converted; each joined model on its parent's foreign key; no
    field dirty) for a fifth of the cost: the column plan is worked out once, not per row.

    `links` says where each joined source hangs, by its place among the selected sources in
    select order: `(1, "interviewer", 0)` puts the second on the first's `interviewer`. Only
    for inner joins (no missing models). tests/test_compiled_reads.py compares the models
    with peewee's own for every read that uses it.
    """

    def __init__(self, query, links: tuple[Link, ...]) -> None:
        sources: list[list] = []  # [model, source key, [(field name, converter)]]
        for column in query.selected_columns:
            key, field = ((column.source, column.field) if isinstance(column, FieldAlias)
                          else (column.model, column))
            if not sources or sources[-1][1] is not key:
                model = getattr(key, "model", key)  # a ModelAlias's model, or the model
                sources.append([model, key, []])
            sources[-1][2].append((field.name, field.python_value))
        if len({id(key) for _, key, _ in sources}) < len(sources):
            raise ValueError("a source's columns are not all together in the select")
        for child, attr, parent in links:
            foreign_key = sources[parent][0]._meta.fields.get(attr)
            if not isinstance(foreign_key, ForeignKeyField) or (
                    foreign_key.rel_model is not sources[child][0]):
                raise ValueError(f"{attr} of {sources[parent][0].__name__} does not lead to "
                                 f"{sources[child][0].__name__}")
        self.sources = [(model, tuple(fields)) for model, _, fields in sources]
        self.links = links

    def __call__(self, rows: list[tuple]) -> list:
        built = []
        for row in rows:
            values = iter(row)
            models = []
            for model, fields in self.sources:
                instance = model.__new__(model)
                instance.__data__ = {name: convert(next(values)) for name, convert in fields}
                instance._dirty, instance.__rel__ = set(), {}
                models.append(instance)
            for child, attr, parent in self.links:
                models[parent].__rel__[attr] = models[child]
            built.append(models[0])
        return built


class Prepared:
    """A SELECT built with peewee once, compiled to SQL once, then re-run with new values.

    Peewee renders SQL text on every execution; for the reads every request makes (the
    caller, one interview, a page of a list) that was a sixth of the request. `build(*markers)`
    uses each marker as a parameter (TIME_MARKERS for timestamps) wherever it likes, every
    occurrence takes the value; rows come back as peewee builds them (joins included), by
    `Rows` when `links` is given (the hot reads), else by peewee's own cursor wrapper.
    """

    def __init__(self, build, *markers: object, links: tuple[Link, ...] | None = None) -> None:
        self.build, self.markers, self.links = build, markers, links
        self.compiled: dict[int, tuple] = {}

    def __call__(self, *values: object) -> list:
        entry = self.compiled.get(id(database.obj))
        if entry is None:
            query = self.build(*self.markers)
            sql, params = query.sql()
            forms = [as_param(marker) for marker in self.markers]
            slots = [[i for i, param in enumerate(params) if param == form] for form in forms]
            rows = Rows(query, self.links) if self.links is not None else None
            entry = self.compiled[id(database.obj)] = (query, sql, params, slots, rows)
        query, sql, params, slots, rows = entry
        params = list(params)
        for indices, value in zip(slots, values):
            for index in indices:
                params[index] = as_param(value)
        cursor = database.execute_sql(sql, params)
        if rows is not None:
            return rows(cursor.fetchall())
        return list(query._get_cursor_wrapper(cursor))
