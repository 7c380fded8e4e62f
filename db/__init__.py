"""Persistence: the database handle, its transactions and its migrations."""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, IntegrityError, OperationalError, SqliteDatabase
from playhouse.db_url import connect
from playhouse.migrations import Runner

from db.fields import UTCDateTimeField
from db.models import database

MIGRATIONS = Path(__file__).parent / "migrations"
OVERLAP_CONSTRAINTS = ("interview_interviewer_no_overlap", "interview_interviewee_no_overlap",
                       "interview_member_no_overlap")


def open_database(url: str, max_connections: int = 64) -> Database:
    """Bind the models to the database at `url` (sqlite:///PATH or postgresql://...), pooled."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = connect(
            "sqlite+pool:///" + path,
            max_connections=max_connections,
            timeout=30,
            check_same_thread=False,
            pragmas={
                "journal_mode": "wal",
                "synchronous": "full",  # an acknowledged write survives power loss
                "foreign_keys": 1,
                "busy_timeout": 10_000,
            },
        )
        # SQLite's LIKE folds ASCII only; searches compare lower-cased text as ILIKE does.
        db.register_function(unicode_lower, "unicode_lower", 1, deterministic=True)
    elif scheme in ("postgres", "postgresql"):
        db = connect(
            url.replace(scheme + "://", "postgresql+pool://", 1),
            max_connections=max_connections,
            timeout=30,
        )
    else:
        raise ValueError(f"unsupported database URL scheme {scheme!r}: "
                         "use sqlite:/// or postgresql://")
    database.initialize(db)
    return db


def unicode_lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def write_transaction() -> AbstractContextManager:
    """A transaction for read-then-write work.

    On SQLite it is BEGIN IMMEDIATE: the write lock is taken before the first read, so no
    other writer (thread or process) can slip in between our check and our insert.
    On PostgreSQL the exclusion constraints are the arbiter and a plain transaction suffices.
    """
    db = database.obj
    if isinstance(db, SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return db.atomic()


ID_MARKER, OTHER_ID_MARKER = -9_000_000_000_000_001, -9_000_000_000_000_002
# Markers for UTCDateTimeField values: the microseconds tell them apart.
TIME_MARKERS = tuple(datetime(1000, 1, 1, microsecond=n, tzinfo=UTC) for n in (1, 2, 3))


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


def lockable(query, model):
    """`query` locking `model`'s rows until commit (FOR UPDATE), where the database has it.

    SQLite has no row locks; its BEGIN IMMEDIATE already excludes every other writer.
    """
    if isinstance(database.obj, SqliteDatabase):
        return query
    return query.for_update(of=model)


def key_shared(query):
    """`query` holding its rows FOR KEY SHARE until commit on PostgreSQL: they cannot be
    locked FOR UPDATE (a change of role) meanwhile. SQLite's BEGIN IMMEDIATE suffices."""
    if isinstance(database.obj, SqliteDatabase):
        return query
    return query.for_update("FOR KEY SHARE")


TRANSIENT_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure


def is_transient(error: OperationalError) -> bool:
    """True for a failure that an identical retry may not meet: a deadlock between two
    bookings' constraint checks (PostgreSQL), or a write lock not had in time (SQLite)."""
    original = getattr(error, "orig", None)
    return (getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES
            or "database is locked" in str(error))


def is_overlap_violation(error: IntegrityError) -> bool:
    """True when the no-double-booking constraint (trigger or EXCLUDE) refused a write."""
    text = str(error)
    return any(name in text for name in OVERLAP_CONSTRAINTS)


def migrate() -> list[str]:
    """Bring the bound database to the current schema; returns the migrations applied."""
    db = database.obj
    with db.connection_context():
        return Runner(db, directory=str(MIGRATIONS)).up()


