"""Migrations keep data: rows written before panels (0008) and pools (0009) keep every value,
every interview becomes a panel of one, and the rules hold for them from then on."""
from __future__ import annotations

import pytest
from peewee import IntegrityError
from playhouse.migrations import Runner

from db.connection import MIGRATIONS, open_database, write_transaction
from db.models import database
from tests.helpers.servers import backend_url

BEFORE_PANELS = "0007_flat_overlap"
ROWS = [  # id, status, start, end, interviewer (all of one interviewee but one)
    (1, "pending", "2031-01-01 09:00:00.000000+00:00", "2031-01-01 09:30:00.000000+00:00", 20),
    (2, "confirmed", "2031-01-01 10:00:00.000000+00:00", "2031-01-01 11:00:00.000000+00:00", 20),
    (3, "cancelled", "2031-01-01 10:00:00.000000+00:00", "2031-01-01 11:00:00.000000+00:00", 21),
    (4, "completed", "2020-01-01 10:00:00.000000+00:00", "2020-01-01 11:00:00.000000+00:00", 21),
]


@pytest.fixture
def old_database(app, settings, tmp_path_factory):
    """A fresh database migrated up to just before panels; the session's is bound again after."""
    fresh = backend_url(tmp_path_factory)
    db = open_database(next(fresh), max_connections=4)
    with db.connection_context():
        Runner(db, directory=str(MIGRATIONS)).up(BEFORE_PANELS)
        yield db
    database.close_all()
    open_database(settings.database_url, max_connections=settings.threads + 8)
    next(fresh, None)


def rows(db, sql: str) -> list[tuple]:
    return [tuple(row) for row in db.execute_sql(sql).fetchall()]


def test_interviews_from_before_panels_become_panels_of_one(old_database):
    db = old_database
    stamp = "'2030-06-01 00:00:00.000000+00:00'"
    db.execute_sql('INSERT INTO "user" (id, title, role, phone_number, updated_at) VALUES '
                   f"(10, 'Driver', 'driver', '123', {stamp}), (20, 'Lead', 'interviewer', NULL, "
                   f"{stamp}), (21, 'Other', 'interviewer', '456', {stamp})")
    db.execute_sql("INSERT INTO interviewee (id, driver_id, kind, currency, updated_at) VALUES "
                   f"(30, 10, 'interview', 'GBP', {stamp}), (31, 10, 'interview', 'EUR', {stamp})")
    for n, status, start, end, interviewer in ROWS:
        db.execute_sql(
            "INSERT INTO interview (id, kind, status, start_at, end_at, location, interviewee_id, "
            "interviewer_id, status_reason, version, created_at, updated_at) VALUES "
            f"({n}, 'video_call', '{status}', '{start}', '{end}', 'https://zoom.com', "
            f"{30 if n != 3 else 31}, {interviewer}, NULL, {n}, {stamp}, {stamp})")
        db.execute_sql("INSERT INTO event (interview_id, actor_id, action, changes, at) VALUES "
                       f"({n}, 20, 'create', '{{}}', {stamp})")
    db.execute_sql("INSERT INTO schedule (interviewer_id, time_zone, working_hours, "
                   "buffer_minutes, daily_limit, minimum_notice_minutes, version, updated_at) "
                   f"VALUES (20, 'Europe/London', NULL, 10, 4, 0, 3, {stamp})")
    tables = ("interview", "event", "schedule", '"user"', "interviewee")
    before = {table: rows(db, f"SELECT * FROM {table} ORDER BY 1") for table in tables}

    assert Runner(db, directory=str(MIGRATIONS)).up()[:2] == ["0008_panels", "0009_pools"]

    for table in tables:  # every value kept; schedules only gained columns
        after = rows(db, f"SELECT * FROM {table} ORDER BY 1")
        assert [r[:len(b)] for r, b in zip(after, before[table])] == before[table], table
    assert rows(db, "SELECT weekly_limit, date_overrides FROM schedule") == [(None, None)]
    members = rows(db, "SELECT interview_id, interviewer_id, role, response, position, status, "
                       "start_at, end_at FROM interview_member ORDER BY interview_id")
    interviews = rows(db, "SELECT id, interviewer_id, status, start_at, end_at FROM interview "
                          "ORDER BY id")
    assert [(m[0], m[1], m[5], m[6], m[7]) for m in members] == interviews
    assert {(m[2], m[3], m[4]) for m in members} == {("lead", "accepted", 0)}
    active = rows(db, "SELECT interview_id FROM interview_member WHERE active ORDER BY 1")
    assert [r[0] for r in active] == [1, 2]

    # From now on the rules hold for them: a seat of 20 over interview 2 is refused, and the
    # member rows follow their interview.
    with pytest.raises(IntegrityError, match="interview_member_no_overlap"), write_transaction():
        db.execute_sql(
            "INSERT INTO interview_member (interview_id, interviewer_id, role, response, position, "
            f"status, start_at, end_at) VALUES (3, 20, 'panelist', 'needs_action', 1, 'pending', "
            f"'{ROWS[2][2]}', '{ROWS[2][3]}')")
    with write_transaction():
        db.execute_sql("UPDATE interview SET status = 'cancelled' WHERE id = 2")
    moved = rows(db, "SELECT status FROM interview_member WHERE interview_id = 2")
    assert moved == [("cancelled",)]

