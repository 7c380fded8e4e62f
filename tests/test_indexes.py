"""The list's queries are served by indexes, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db.listing import interviews_query
from tests.helpers.plans import plan

SINCE = datetime(2030, 1, 1, tzinfo=UTC)


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
    from db.connection import migrate

    assert migrate() == []
    tables = set(db.get_tables())
    assert {"user", "interviewee", "interview", "event", "revoked_token", "idempotency_key",
            "interview_member"} <= tables
