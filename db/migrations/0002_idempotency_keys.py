"""Idempotency keys: the first answer to a POST, kept 24 hours per caller and key."""
from __future__ import annotations

from peewee import Database


def up(migrator: object, db: Database) -> None:
    db.execute_sql(
        """CREATE TABLE idempotency_key (
            user_id BIGINT NOT NULL,
            key VARCHAR(255) NOT NULL,
            fingerprint VARCHAR(64) NOT NULL,
            status INTEGER,
            body TEXT,
            headers TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (user_id, key))"""
    )
    db.execute_sql("CREATE INDEX idempotency_key_created ON idempotency_key (created_at)")
