"""Query plans, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from peewee import SqliteDatabase


def plan(db, query) -> str:
    sql, params = query.limit(26).sql()
    if isinstance(db.obj, SqliteDatabase):
        return "\n".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")  # an index, if one fits, must win
        return "\n".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params))
