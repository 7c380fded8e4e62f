"""Pools and load: a weekly limit and per-date overrides of working hours in schedules.

Both columns are null in existing schedules (no weekly limit, no overrides), so every
schedule keeps the rules it had.
"""
from __future__ import annotations

from peewee import Database


def up(migrator: object, db: Database) -> None:
    for sql in (
        """ALTER TABLE schedule ADD COLUMN weekly_limit INTEGER
           CHECK (weekly_limit BETWEEN 1 AND 100)""",
        "ALTER TABLE schedule ADD COLUMN date_overrides TEXT",  # JSON, as the API shows it
    ):
        db.execute_sql(sql)
