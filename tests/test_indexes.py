"""The list's queries are served by indexes, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from peewee import SqliteDatabase

from db.listing import interviews_query

SINCE = datetime(2030, 1, 1, tzinfo=UTC)


def plan(db, query) -> str:
    sql, params = query.limit(26).sql()
    if isinstance(db.obj, SqliteDatabase):
        return "\n".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")  # an index, if one fits, must win
        return "\n".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params))


@pytest.mark.parametrize("who, filters", [
    ("coordinator", {}),
    ("coordinator", {"updated_since": SINCE}),
    ("coordinator", {"interviewer_id": 1}),
    ("coordinator", {"interviewee_id": 1}),
    ("interviewer", {}),
    ("interviewer", {"status": ["pending", "confirmed"], "start_from": SINCE}),
    ("driver", {}),
])
def test_list_query_uses_an_index(people, db, who, filters):
    after = (datetime(2030, 1, 1, tzinfo=UTC), 5)
    text = plan(db, interviews_query(getattr(people, who), filters, after))
    for line in text.splitlines():
        assert not line.strip().startswith(("SCAN interview ", "SCAN t1")) or "INDEX" in line, text
        assert "Seq Scan on interview " not in line, text


def test_migrate_again_changes_nothing(app, db):
    """The session database was migrated at start-up; a second run applies nothing."""
    from db import migrate

    assert migrate() == []
    tables = set(db.get_tables())
    assert {"user", "interviewee", "interview", "event", "revoked_token", "idempotency_key",
            "interview_member"} <= tables
