"""The database: binding the models to a URL (pooled), the transactions that keep rules
race-proof, row locks where the database has them, and migrations."""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, SqliteDatabase
from playhouse.db_url import connect
from playhouse.migrations import Runner

from db.models import database

MIGRATIONS = Path(__file__).parent / "migrations"


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


LOCK_SPAN = 3600  # seconds: a person's time is locked in hours (epoch hours, UTC)


def lock_keys(interviewer_ids: Sequence[int], interviewee_ids: Sequence[int], start: datetime,
              end: datetime) -> list[int]:
    """The advisory lock keys of these people's time [start, end): one per person and hour
    it touches (two overlapping spans share an hour), as signed 64-bit hashes, sorted. A
    collision of two keys only makes two bookings take turns."""
    hours = range(math.floor(start.timestamp() / LOCK_SPAN),
                  math.ceil(end.timestamp() / LOCK_SPAN))
    people = [("interviewer", i) for i in interviewer_ids] + [("interviewee", i)
                                                               for i in interviewee_ids]
    keys = {int.from_bytes(hashlib.blake2b(f"{side}:{person}:{hour}".encode(),
                                           digest_size=8).digest(), "big", signed=True)
            for side, person in people for hour in hours}
    return sorted(keys)


def lock_people(interviewer_ids: Sequence[int], interviewee_ids: Sequence[int], start: datetime,
                end: datetime) -> None:
    """Until commit, be the only transaction booking or holding these people in [start, end).

    A hold blocks only until it expires, and no constraint can read the clock, so the rule
    "a held person is not booked over" is kept by serialising every transaction that books
    or holds the same person in an overlapping time: a PostgreSQL transaction-scoped
    advisory lock per person and hour touched (`lock_keys`), taken in key order (no two
    transactions wait on each other crosswise), before anything of theirs is read. Each later
    statement then sees whatever the one before committed; bookings of one person at other
    hours do not wait. On SQLite, BEGIN IMMEDIATE already lets one writer at a time in.
    """
    db = database.obj
    if isinstance(db, SqliteDatabase):
        return
    for key in lock_keys(interviewer_ids, interviewee_ids, start, end):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def migrate() -> list[str]:
    """Bring the bound database to the current schema; returns the migrations applied."""
    db = database.obj
    with db.connection_context():
        return Runner(db, directory=str(MIGRATIONS)).up()
