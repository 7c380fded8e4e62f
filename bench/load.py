"""Fill a database with N interviews fast, in SQL: `python bench/load.py URL N`.

Migrates, imports the demo people, adds 50 interviewers and 500 drivers with an interviewee
each, then inserts N interviews in one statement (a recursive CTE on SQLite,
generate_series on PostgreSQL): nine in ten are past interviews of the demo interviewer
(1014) with the demo interviewee (289), an hour apart going back from 2026; the tenth goes
to one of the other people; statuses are mostly completed, some cancelled or no_show. 200
pending interviews (the same number at every size) sit in 2029, before the slots wrk books.
Each interview gets its "create" history event, so the change feed grows with it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peewee import PostgresqlDatabase

from db.connection import migrate, open_database
from db.models import database
from db.people import import_people

PENDING = 200
STAMP_SQLITE = "strftime('%Y-%m-%d %H:%M:%S', {base}, {shift}) || '.000000+00:00'"


def size(text: str) -> int:
    """`1k`, `100k`, `1M` or a plain number."""
    text = text.strip()
    factor = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(text.rstrip("kKmM")) * factor


def people_sql(pg: bool) -> list[str]:
    now = "now()" if pg else "'2026-01-01 00:00:00.000000+00:00'"
    series = ("generate_series(1, {n}) AS s(i)" if pg else
              "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
              "SELECT i FROM s) AS s")
    five_hundred = series.format(n=500)
    return [
        f"""INSERT INTO "user" (id, title, role, phone_number, updated_at)
            SELECT 100000 + i, 'Interviewer ' || i, 'interviewer', '456', {now}
            FROM {series.format(n=50)}""",
        f"""INSERT INTO "user" (id, title, role, phone_number, updated_at)
            SELECT 200000 + i, 'Driver ' || i, 'driver', '123', {now} FROM {five_hundred}""",
        f"""INSERT INTO interviewee (id, driver_id, kind, currency, updated_at)
            SELECT 300000 + i, 200000 + i, 'interview', 'GBP', {now} FROM {five_hundred}""",
    ]


def interviews_sql(pg: bool, n: int, pending: bool) -> str:
    """Past interviews (or the pending ones) as one INSERT ... SELECT over a series."""
    if pg:
        series = f"generate_series(1, {n}) AS s(i)"
        base = ("timestamptz '2029-01-01 00:00:00+00'" if pending else
                "timestamptz '2026-01-01 00:00:00+00'")
        start = f"{base} {'+' if pending else '-'} i * interval '1 hour'"
        end = f"{start} + interval '30 minutes'"
    else:
        series = (f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
                  "SELECT i FROM s) AS s")
        base = "'2029-01-01 00:00:00'" if pending else "'2026-01-01 00:00:00'"
        sign = "+" if pending else "-"
        start = STAMP_SQLITE.format(base=base, shift=f"'{sign}' || i || ' hours'")
        end = STAMP_SQLITE.format(base=base, shift=f"'{sign}' || i || ' hours', '+30 minutes'")
    status = ("'pending'" if pending else
              "CASE WHEN i % 10 = 3 THEN 'cancelled' WHEN i % 20 = 7 THEN 'no_show' "
              "ELSE 'completed' END")
    interviewer = "CASE WHEN i % 10 = 0 THEN 100000 + i % 50 + 1 ELSE 1014 END"
    interviewee = "CASE WHEN i % 10 = 0 THEN 300000 + i % 500 + 1 ELSE 289 END"
    return f"""INSERT INTO interview (kind, status, start_at, end_at, location, interviewee_id,
                   interviewer_id, version, created_at, updated_at)
               SELECT 'video_call', {status}, {start}, {end}, 'https://zoom.com', {interviewee},
                   {interviewer}, 1, {start}, {end} FROM {series}"""


# One "create" event per interview, as booking writes it (the feed reads these).
EVENTS_SQL = """INSERT INTO event (interview_id, actor_id, action, changes, reason, at)
                SELECT id, 1015, 'create', '{}', NULL, created_at FROM interview"""


def load(url: str, n: int) -> float:
    """Migrate `url`, add the people and `n` interviews; seconds taken by the inserts."""
    open_database(url, max_connections=4)
    migrate()
    with database.connection_context():
        import_people(json.loads((ROOT / "db" / "demo_people.json").read_text()))
        pg = isinstance(database.obj, PostgresqlDatabase)
        started = time.perf_counter()
        with database.atomic():
            for sql in people_sql(pg):
                database.execute_sql(sql)
            for pending, count in ((False, max(n - PENDING, 0)), (True, min(n, PENDING))):
                sql = interviews_sql(pg, count, pending)
                database.execute_sql(sql.replace("%", "%%") if pg else sql)  # psycopg: %% is %
            database.execute_sql(EVENTS_SQL)  # the history (and so the change feed) grows too
        # What the database would have done by then: vacuumed (autovacuum) and checkpointed
        # the load, so that the first requests measured do not write it out (PostgreSQL) or
        # read through a WAL that holds all of it (SQLite).
        if pg:
            database.execute_sql("VACUUM ANALYZE")
            database.execute_sql("CHECKPOINT")
        else:
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return time.perf_counter() - started


if __name__ == "__main__":
    seconds = load(sys.argv[1], size(sys.argv[2]))
    print(f"loaded {sys.argv[2]} interviews in {seconds:.1f} s")
