"""Checks that stay flat as history grows read bounded index ranges, on SQLite and PostgreSQL.

An index range bounded on one side only (`start_at < :end`) covers a person's whole
history: the overlap check slowed down ×46 between 1k and 1M interviews on SQLite.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from peewee import IntegrityError, SqliteDatabase

from db.connection import write_transaction
from db.listing import interviews_query
from db.models import MAX_DURATION, Interview, InterviewMember

START = datetime(2040, 3, 1, 9, tzinfo=UTC)
SIDES = ("interviewer", "interviewee")


def is_sqlite(db) -> bool:
    return isinstance(db.obj, SqliteDatabase)


def plan(db, sql: str, params: list | tuple = ()) -> str:
    if is_sqlite(db):
        return "\n".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")  # an index, if one fits, must win
        return "\n".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params))


def assert_bounded_range(text: str, index: str) -> None:
    """The plan reads `index` with start_at bounded from below and above.

    PostgreSQL picks among indexes by statistics (on a near-empty table, `(start_at, id)`);
    any index read whose condition bounds start_at on both sides stays flat with history.
    """
    if "SEARCH" in text:  # SQLite
        bounded = rf"USING INDEX {index} \(\w+=\? AND start_at>\? AND start_at<\?\)"
        assert re.search(bounded, text), text
    else:  # PostgreSQL: both bounds are index conditions, not filters
        cond = next((line for line in text.splitlines() if "Index Cond" in line), "")
        assert "start_at >" in cond and "start_at <" in cond, text


@pytest.mark.parametrize("side", SIDES)
def test_overlap_query_reads_a_bounded_range(db, side):
    query = Interview.active_near(side, 1, START, START + timedelta(hours=1))
    query = query.where(Interview.id != 5)
    assert_bounded_range(plan(db, *query.sql()), f"interview_{side}_start")


@pytest.mark.parametrize("side", SIDES)
def test_buffer_query_reads_a_bounded_range(db, side):
    query = Interview.active_near(side, 1, START, START + timedelta(hours=1), timedelta(minutes=15))
    assert_bounded_range(plan(db, *query.sql()), f"interview_{side}_start")


@pytest.mark.parametrize("event", ["insert", "update"])
def test_overlap_triggers_read_a_bounded_range(db, event):
    """SQLite: each check inside the installed trigger, NEW.* as parameters, as the trigger
    binds them."""
    if not is_sqlite(db):
        # PostgreSQL's rule is the EXCLUDE constraints, checked through their GiST indexes.
        rows = db.execute_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname IN "
            "('interview_interviewer_no_overlap', 'interview_interviewee_no_overlap')").fetchall()
        assert len(rows) == 2 and all("EXCLUDE USING gist" in d for _, d in rows), rows
        return
    trigger = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (f"interview_no_overlap_{event}",)).fetchone()[0]
    checks = re.findall(r"EXISTS \((.*?)\);", trigger, re.DOTALL)
    assert len(checks) == 2
    for side, check in zip(SIDES, checks):
        sql = re.sub(r"NEW\.\w+", "?", check)
        params = [1 if i == 0 else "2040-03-01 09:00:00.000000+00:00"
                  for i in range(sql.count("?"))]
        assert_bounded_range(plan(db, sql, params), f"interview_{side}_start")


def test_member_overlap_query_reads_a_bounded_range(db):
    """Seats of every role, as bookings read them: on SQLite a bounded range of the active-
    member index; on PostgreSQL either that or the EXCLUDE constraint's GiST index searched
    by the slot's range (which the planner may prefer: it holds only active seats)."""
    query = InterviewMember.overlapping_query([1, 2], START, START + timedelta(hours=1), 5)
    text = plan(db, *query.sql())
    if is_sqlite(db):
        assert re.search(r"USING INDEX interview_member_active \(interviewer_id=\? AND active=\? "
                         r"AND start_at>\? AND start_at<\?\)", text), text
    elif "interview_member_no_overlap" in text:
        cond = next((line for line in text.splitlines() if "Index Cond" in line), "")
        assert "tstzrange(start_at, end_at" in cond and "&&" in cond, text
    else:
        assert_bounded_range(text, "interview_member_active")


@pytest.mark.parametrize("event", ["insert", "update"])
def test_member_overlap_checks_read_a_bounded_range(db, event):
    """SQLite: the member triggers' check, as bound; PostgreSQL: the EXCLUDE constraint."""
    if not is_sqlite(db):
        rows = db.execute_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'interview_member_no_overlap'").fetchall()
        assert len(rows) == 1 and "EXCLUDE USING gist" in rows[0][0] and "active" in rows[0][0]
        return
    trigger = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (f"interview_member_no_overlap_{event}",)).fetchone()[0]
    (check,) = re.findall(r"EXISTS \((.*?)\);", trigger, re.DOTALL)
    sql = re.sub(r"NEW\.\w+", "?", check)
    params = [1 if i == 0 else "2040-03-01 09:00:00.000000+00:00" for i in range(sql.count("?"))]
    text = plan(db, sql, params)
    assert re.search(r"USING (COVERING )?INDEX interview_member_active \(interviewer_id=\? AND "
                     r"active=\? AND start_at>\? AND start_at<\?\)", text), text


def test_pending_list_of_a_coordinator_walks_the_status_index(people, db):
    query = interviews_query(people.coordinator, {"status": ["pending"]}, (START, 5)).limit(26)
    text = plan(db, *query.sql())
    if is_sqlite(db):
        assert "interview_status_start (status=?" in text and "TEMP B-TREE" not in text, text
    else:
        assert "Seq Scan on interview " not in text, text


def insert(people, start: datetime, end: datetime, **fields) -> Interview:
    with write_transaction():
        return Interview.create(
            kind="video_call", status=fields.get("status", "pending"), start_at=start, end_at=end,
            interviewer=people.interviewer.id,
            interviewee=fields.get("interviewee", people.interviewee.id), version=1)


def test_database_refuses_an_interview_over_8_hours(people, db):
    with pytest.raises(IntegrityError, match="interview_max_duration"):
        insert(people, START, START + MAX_DURATION + timedelta(milliseconds=1))
    row = insert(people, START, START + MAX_DURATION, status="cancelled")
    longer = (Interview.update(end_at=row.end_at + timedelta(seconds=1))
              .where(Interview.id == row.id))
    with pytest.raises(IntegrityError, match="interview_max_duration"), write_transaction():
        longer.execute()


def test_bounded_checks_still_see_an_8_hour_interview_from_its_last_minute(people, db):
    """The lead's seat of an 8-hour interview, seen from its last minute by the checks
    bookings make (InterviewMember.overlapping) and by the database."""
    long_start = START + timedelta(days=3)
    long = insert(people, long_start, long_start + MAX_DURATION)
    late = long_start + MAX_DURATION - timedelta(minutes=1)
    seen = InterviewMember.overlapping([people.interviewer.id], late, late + timedelta(minutes=30))
    assert seen == {people.interviewer.id: [long.id]}
    with pytest.raises(IntegrityError, match="no_overlap"):
        insert(people, late, late + timedelta(minutes=30), interviewee=people.other_interviewee.id)
    after = long_start + MAX_DURATION
    assert InterviewMember.overlapping([people.interviewer.id], after,
                                       after + timedelta(minutes=30)) == {}
    insert(people, after, after + timedelta(minutes=30), interviewee=people.other_interviewee.id)
