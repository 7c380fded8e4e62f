"""The database: binding the models to a URL (pooled), the transactions that keep rules
race-proof, row locks where the database has them, and migrations."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
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


def lock_people(interviewer_ids: Sequence[int], interviewee_ids: Sequence[int] = ()) -> None:
    """Until commit, be the only transaction booking or holding time of these people.

    A hold blocks only until it expires, and no constraint can read the clock, so the rule
    "a held person is not booked over" is kept by serialising, per person, every transaction
    that books or holds them: a PostgreSQL transaction-scoped advisory lock per person, taken
    in key order (no two transactions wait on each other crosswise), before anything of
    theirs is read. Each later statement then sees whatever the one before committed. On
    SQLite, BEGIN IMMEDIATE already lets one writer at a time in.
    """
    db = database.obj
    if isinstance(db, SqliteDatabase):
        return
    keys = {2 * i for i in interviewer_ids} | {2 * i + 1 for i in interviewee_ids}
    for key in sorted(keys):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def migrate() -> list[str]:
    """Bring the bound database to the current schema; returns the migrations applied."""
    db = database.obj
    with db.connection_context():
        return Runner(db, directory=str(MIGRATIONS)).up()
