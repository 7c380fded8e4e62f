"""Flat as history grows: overlap checks read a bounded index range; a pending list has its index.

An index range on `(interviewer_id, start_at)` bounded only by `start_at < :end` covers every
earlier interview of that person, so the check slowed down with history. No interview lasts
more than 8 hours (MAX_DURATION), so one that overlaps [start, end) starts after
`start - 8 h`: that bounds the range on both sides. This migration makes the 8-hour limit a
database rule (a CHECK on PostgreSQL, triggers on SQLite, where a CHECK cannot be added to an
existing table) and replaces 0001's SQLite overlap triggers with bounded ones. PostgreSQL's
EXCLUDE constraints use a GiST index and were already flat.
"""
from __future__ import annotations

from peewee import Database, PostgresqlDatabase

ACTIVE = "('pending', 'confirmed')"
MAX_SECONDS = 8 * 3600


def up(migrator: object, db: Database) -> None:
    pg = isinstance(db, PostgresqlDatabase)
    statements = [
        # Coordinator lists filtered by status (e.g. status=pending) in keyset order.
        "CREATE INDEX interview_status_start ON interview (status, start_at, id)",
    ]
    statements += pg_max_duration() if pg else sqlite_bounded_overlap()
    for sql in statements:
        db.execute_sql(sql)


def pg_max_duration() -> list[str]:
    return [f"""ALTER TABLE interview ADD CONSTRAINT interview_max_duration
                CHECK (end_at - start_at <= interval '{MAX_SECONDS} seconds')"""]


def sqlite_bounded_overlap() -> list[str]:
    """0001's triggers again, with the range bounded below; plus the 8-hour rule.

    Times are stored as fixed-width ISO text (`2030-01-01 08:00:00.000000+00:00`); the lower
    bound is computed a second early in SQLite's own shorter format, which only widens it.
    """
    lower = "strftime('%Y-%m-%d %H:%M:%f', NEW.start_at, '-8 hours', '-1 seconds')"
    checks = "\n".join(
        f"""SELECT RAISE(ABORT, 'interview_{who}_no_overlap') WHERE EXISTS (
                SELECT 1 FROM interview i WHERE i.{who}_id = NEW.{who}_id AND i.id IS NOT NEW.id
                AND i.status IN {ACTIVE} AND i.start_at < NEW.end_at AND i.start_at > {lower}
                AND i.end_at > NEW.start_at);"""
        for who in ("interviewer", "interviewee")
    )
    too_long = (f"round((julianday(NEW.end_at) - julianday(NEW.start_at)) * 86400000) "
                f"> {MAX_SECONDS * 1000}")
    statements = [
        "DROP TRIGGER interview_no_overlap_insert",
        "DROP TRIGGER interview_no_overlap_update",
    ]
    for event in ("INSERT", "UPDATE OF status, start_at, end_at, interviewer_id, interviewee_id"):
        name = event.split()[0].lower()
        statements.append(
            f"""CREATE TRIGGER interview_no_overlap_{name}
                BEFORE {event} ON interview WHEN NEW.status IN {ACTIVE}
                BEGIN {checks} END""")
    for event in ("INSERT", "UPDATE OF start_at, end_at"):
        name = event.split()[0].lower()
        statements.append(
            f"""CREATE TRIGGER interview_max_duration_{name}
                BEFORE {event} ON interview WHEN {too_long}
                BEGIN SELECT RAISE(ABORT, 'interview_max_duration'); END""")
    return statements
