"""The change feed's position of every history event, and private calendar feeds.

`event.txid` orders the feed. On PostgreSQL it is the id of the transaction that wrote the
event (`pg_current_xact_id()`), so the feed can hand out only events older than every
transaction still open (see db/feed.py). Rows written before this migration get 0: they
committed before any later transaction began. On SQLite writers are serialized, id order is
commit order, and txid stays 0.
"""
from __future__ import annotations

from peewee import Database, PostgresqlDatabase


def up(migrator: object, db: Database) -> None:
    pg = isinstance(db, PostgresqlDatabase)
    statements = ["ALTER TABLE event ADD COLUMN txid BIGINT NOT NULL DEFAULT 0"]  # the backfill
    if pg:
        statements.append(
            "ALTER TABLE event ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)")
    statements += [
        "CREATE INDEX event_feed ON event (txid, id)",
        # a caller who sees few interviews: their events after the cursor, interview by interview
        "CREATE INDEX event_interview_feed ON event (interview_id, txid, id)",
        """CREATE TABLE calendar_feed (
            user_id BIGINT PRIMARY KEY REFERENCES "user" (id),
            token_sha256 VARCHAR(64) NOT NULL UNIQUE,
            created_at TIMESTAMPTZ NOT NULL)""",
    ]
    for sql in statements:
        db.execute_sql(sql)
