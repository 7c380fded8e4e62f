"""`make bench-availability`: availability for 5 interviewers over 14 days at a 15-minute
step, on a database holding 1,000,000 interviews (mostly past ones of the same interviewers).

Loads the rows with one INSERT ... SELECT from a recursive CTE (SQLite) or generate_series
(PostgreSQL), then times the query in-process through the app (Starlette's test client), so
the figures are the API's own work without the network. Usage:

    python bench/availability.py [--database-url URL] [--rows 1000000] [--runs 200]

Without --database-url it uses a fresh SQLite file; a postgresql:// URL gets a fresh database
created on that server (and dropped afterwards).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from peewee import PostgresqlDatabase
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.connection import migrate
from db.models import database
from handlers.platform.app import create_app
from handlers.platform.auth import issue_token
from handlers.platform.settings import Settings

SECRET = "bench-secret-that-is-long-enough-for-hs256"
INTERVIEWERS = [1001, 1002, 1003, 1004, 1005]
COORDINATOR, DRIVER = 1000, 1006
INTERVIEWEES = 2000  # ids 1..2000
# Every interviewer has a booking each 30 minutes for years before 2030-01-01; the last
# one lands before the benchmark's window.
WINDOW = ("2030-01-06T00:00:00Z", "2030-01-20T00:00:00Z")


def load(rows: int) -> None:
    pg = isinstance(database.obj, PostgresqlDatabase)
    now = "'2029-06-01 00:00:00+00:00'"
    people = [f"({COORDINATOR}, 'Coordinator', 'coordinator', {now})",
              f"({DRIVER}, 'Driver', 'driver', {now})"]
    people += [f"({i}, 'Interviewer {i}', 'interviewer', {now})" for i in INTERVIEWERS]
    database.execute_sql('INSERT INTO "user" (id, title, role, updated_at) VALUES ' + ", ".join(people))
    series = f"generate_series(1, {INTERVIEWEES}) AS s(n)" if pg else \
        f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {INTERVIEWEES}) SELECT n FROM s) s"
    database.execute_sql(f"INSERT INTO interviewee (id, driver_id, kind, currency, updated_at) "
                         f"SELECT n, {DRIVER}, 'interview', 'GBP', {now} FROM {series}")
    # n counts half-hours back from 2030-01-01; interviewer n mod 5; interviewee n mod 2000.
    if pg:
        start = "TIMESTAMPTZ '2030-01-01 00:00:00+00' - make_interval(mins => 30 * (n / 5 + 1))"
        end = f"{start} + INTERVAL '20 minutes'"
        source = f"generate_series(0, {rows - 1}) AS s(n)"
    else:
        start = "strftime('%Y-%m-%d %H:%M:%S.000000+00:00', '2030-01-01', printf('-%d minutes', 30 * (n / 5 + 1)))"
        end = "strftime('%Y-%m-%d %H:%M:%S.000000+00:00', '2030-01-01', printf('-%d minutes', 30 * (n / 5 + 1) - 20))"
        source = f"(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {rows - 1}) SELECT n FROM s) s"
    def mod(k: int) -> str:  # `%` would be a placeholder to psycopg
        return f"(n - (n / {k}) * {k})"

    status = f"CASE WHEN {mod(7)} = 0 THEN 'cancelled' ELSE 'completed' END"
    database.execute_sql(
        "INSERT INTO interview (kind, status, start_at, end_at, interviewee_id, interviewer_id, "
        f"version, created_at, updated_at) SELECT 'phone_call', {status}, {start}, {end}, "
        f"{mod(INTERVIEWEES)} + 1, {INTERVIEWERS[0]} + {mod(5)}, 1, {now}, {now} FROM {source}")
    # A working week, a buffer, a limit, and a few future bookings inside the window.
    hours = '{"monday": [{"start": "09:00", "end": "17:00"}], "tuesday": [{"start": "09:00", "end": "17:00"}], ' \
            '"wednesday": [{"start": "09:00", "end": "17:00"}], "thursday": [{"start": "09:00", "end": "17:00"}], ' \
            '"friday": [{"start": "09:00", "end": "13:00"}]}'
    for i in INTERVIEWERS:
        database.execute_sql(
            "INSERT INTO schedule (interviewer_id, time_zone, working_hours, buffer_minutes, daily_limit, "
            f"minimum_notice_minutes, version, updated_at) VALUES ({i}, 'Europe/London', '{hours}', 10, 4, 0, 1, {now})")
    if pg:
        database.execute_sql("ANALYZE")


def measure(client, token: str, runs: int) -> list[float]:
    query = ("/api/v1/availability?interviewee_id=1&duration_minutes=30&step_minutes=15"
             f"&from={WINDOW[0]}&to={WINDOW[1]}&limit=500&"
             + "&".join(f"interviewer_id={i}" for i in INTERVIEWERS))
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for n in range(runs + 10):
        began = time.perf_counter()
        response = client.get(query, headers=headers)
        elapsed = time.perf_counter() - began
        assert response.status_code == 200, response.text
        if n >= 10:  # warm-up
            timings.append(elapsed * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    server, name = args.database_url, None
    with tempfile.TemporaryDirectory() as scratch:
        if server and server.startswith("postgres"):
            name = f"interviews_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            url = server.rsplit("/", 1)[0] + "/" + name
        else:
            url = f"sqlite:///{scratch}/bench.db"
        try:
            app = create_app(Settings(database_url=url, jwt_secret=SECRET, env="production"))
            migrate()
            began = time.perf_counter()
            with database.connection_context(), database.atomic():
                load(args.rows)
            print(f"loaded {args.rows} interviews in {time.perf_counter() - began:.1f} s ({url.split(':')[0]})")
            token = issue_token(Settings(database_url=url, jwt_secret=SECRET), COORDINATOR)
            with app.test_client() as client:
                timings = measure(client, token, args.runs)
            q = statistics.quantiles(timings, n=100)
            print(f"availability, 5 interviewers x 14 days, 15-minute step: "
                  f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms over {len(timings)} requests")
        finally:
            database.close_all()
            if name:
                with psycopg.connect(server, autocommit=True) as admin:
                    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
