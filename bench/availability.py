"""`make bench-availability`: availability and panel bookings as history grows.

For each size (default 1k and 1M interviews, mostly past ones of the same 5 interviewers,
loaded with one INSERT ... SELECT from a recursive CTE on SQLite or generate_series on
PostgreSQL; the database's triggers give each its lead's seat), with London working hours,
a buffer, a daily and a weekly limit for those 5, it times in-process through the app
(Starlette's test client, so the figures are the API's own work without the network):

- `GET /availability` for the 5 over 14 days at a 15-minute step, `mode=any` and `mode=all`;
- create without a panel and create with a panel of 4 (the other 4 of them as panelists),
  the two arms alternating request by request, each in free slots inside everyone's rules;
- `POST /loops/search`: 3 rounds, each any of the 5, over 5 days, gaps of 0 to 30 minutes,
  same London day;
- `GET /scheduling_requests/{id}/options`: 2 rounds, each any of the 5, over 5 days;
- create over a hold of its own (`hold_id`; the hold taken just before, untimed), beside a
  plain create, alternating, with 100 other active holds in the database.

Then the growth (largest size / smallest) of each p50, the panel / no-panel ratio and the
create-over-a-hold / create ratio.
Usage:

    python bench/availability.py [--database-url URL] [--sizes 1k,1M] [--runs 200]

Without --database-url it uses fresh SQLite files; a postgresql:// URL gets fresh databases
created on that server (and dropped afterwards).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from peewee import PostgresqlDatabase
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import size
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
LONDON = ZoneInfo("Europe/London")


def load(rows: int) -> None:
    pg = isinstance(database.obj, PostgresqlDatabase)
    now = "'2029-06-01 00:00:00+00:00'"
    people = [f"({COORDINATOR}, 'Coordinator', 'coordinator', {now})",
              f"({DRIVER}, 'Driver', 'driver', {now})"]
    people += [f"({i}, 'Interviewer {i}', 'interviewer', {now})" for i in INTERVIEWERS]
    database.execute_sql('INSERT INTO "user" (id, title, role, updated_at) VALUES '
                         + ", ".join(people))

    def counting(low: int, high: int) -> str:
        """n from low to high, as a table named s."""
        if pg:
            return f"generate_series({low}, {high}) AS s(n)"
        return (f"(WITH RECURSIVE s(n) AS (SELECT {low} UNION ALL SELECT n + 1 FROM s "
                f"WHERE n < {high}) SELECT n FROM s) s")

    series = counting(1, INTERVIEWEES)
    database.execute_sql(f"INSERT INTO interviewee (id, driver_id, kind, currency, updated_at) "
                         f"SELECT n, {DRIVER}, 'interview', 'GBP', {now} FROM {series}")
    # n counts half-hours back from 2030-01-01; interviewer n mod 5; interviewee n mod 2000.
    if pg:
        start = "TIMESTAMPTZ '2030-01-01 00:00:00+00' - make_interval(mins => 30 * (n / 5 + 1))"
        end = f"{start} + INTERVAL '20 minutes'"
    else:
        stamp = ("strftime('%Y-%m-%d %H:%M:%S.000000+00:00', '2030-01-01', "
                 "printf('-%d minutes', {}))")
        start = stamp.format("30 * (n / 5 + 1)")
        end = stamp.format("30 * (n / 5 + 1) - 20")
    source = counting(0, rows - 1)

    def mod(k: int) -> str:  # `%` would be a placeholder to psycopg
        return f"(n - (n / {k}) * {k})"

    status = f"CASE WHEN {mod(7)} = 0 THEN 'cancelled' ELSE 'completed' END"
    database.execute_sql(
        "INSERT INTO interview (kind, status, start_at, end_at, interviewee_id, interviewer_id, "
        f"version, created_at, updated_at) SELECT 'phone_call', {status}, {start}, {end}, "
        f"{mod(INTERVIEWEES)} + 1, {INTERVIEWERS[0]} + {mod(5)}, 1, {now}, {now} FROM {source}")
    # A working week, a buffer, limits, and a few future bookings inside the window.
    week = {day: [{"start": "09:00", "end": "17:00"}]
            for day in ("monday", "tuesday", "wednesday", "thursday")}
    hours = json.dumps({**week, "friday": [{"start": "09:00", "end": "13:00"}]})
    for i in INTERVIEWERS:
        database.execute_sql(
            "INSERT INTO schedule (interviewer_id, time_zone, working_hours, buffer_minutes, "
            "daily_limit, weekly_limit, minimum_notice_minutes, version, updated_at) "
            f"VALUES ({i}, 'Europe/London', '{hours}', 10, 4, 20, 0, 1, {now})")


Timing = tuple[float, float]  # wall-clock ms, and ms of this process's CPU (client and app)


def timed(client, method: str, path: str, headers: dict, body: dict | None = None) -> Timing:
    began, cpu = time.perf_counter(), time.process_time()
    response = client.request(method, path, headers=headers, json=body)
    elapsed, used = time.perf_counter() - began, time.process_time() - cpu
    assert response.status_code == 200, response.text
    return elapsed * 1000, used * 1000


def availability(client, headers: dict, runs: int, mode: str) -> list[Timing]:
    query = ("/api/v1/availability?interviewee_id=1&duration_minutes=30&step_minutes=15"
             f"&from={WINDOW[0]}&to={WINDOW[1]}&limit=500&mode={mode}&"
             + "&".join(f"interviewer_id={i}" for i in INTERVIEWERS))
    timings = [timed(client, "GET", query, headers) for _ in range(runs + 10)]
    return timings[10:]  # warm-up


def slots(first_day: date):
    """Free 30-minute slots inside everyone's rules: Monday to Thursday, 09:00 to 12:00
    London (four a day: the daily limit; sixteen a week: under the weekly limit)."""
    day = first_day
    while True:
        if day.weekday() < 4:
            for hour in (9, 10, 11, 12):
                start = datetime.combine(day, clock(hour), tzinfo=LONDON).astimezone(UTC)
                yield start.isoformat(), (start + timedelta(minutes=30)).isoformat()
        day += timedelta(days=1)


def creates(client, headers: dict, runs: int) -> tuple[list[Timing], list[Timing]]:
    """Create without a panel (leads in turn, one slot each) and with a panel of 4 (all five
    in one slot), alternating; each arm in dates of its own."""
    interviewees = itertools.cycle(range(1, INTERVIEWEES + 1))
    alone = ((start, end, lead) for start, end in slots(date(2030, 2, 4)) for lead in INTERVIEWERS)
    together = slots(date(2032, 2, 2))
    plain, panel = [], []
    for n in range(runs + 10):
        start, end, lead = next(alone)
        body = {"interview": {"interviewee_id": next(interviewees), "interviewer_id": lead,
                              "kind": "phone_call", "start_at": start, "end_at": end}}
        plain.append(timed(client, "POST", "/api/v1/interviews", headers, body))
        start, end = next(together)
        body = {"interview": {"interviewee_id": next(interviewees),
                              "interviewer_id": INTERVIEWERS[0], "kind": "phone_call",
                              "start_at": start, "end_at": end,
                              "panel": [{"interviewer_id": i, "role": "panelist"}
                                        for i in INTERVIEWERS[1:]]}}
        panel.append(timed(client, "POST", "/api/v1/interviews", headers, body))
    return plain[10:], panel[10:]


def loop_search(client, headers: dict, runs: int) -> list[Timing]:
    start = datetime.fromisoformat(WINDOW[0])
    body = {"search": {"interviewee_id": 1, "from": start.isoformat(),
                       "to": (start + timedelta(days=5)).isoformat(),
                       "rounds": [{"duration_minutes": 45, "interviewer_ids": INTERVIEWERS}] * 3,
                       "gap_minutes": {"min": 0, "max": 30}, "same_day": True,
                       "time_zone": "Europe/London", "limit": 20}}
    timings = [timed(client, "POST", "/api/v1/loops/search", headers, body)
               for _ in range(runs + 10)]
    return timings[10:]


def request_options(client, headers: dict, runs: int) -> list[Timing]:
    """The candidate's options of a scheduling request: 2 rounds, each any of the 5, over 5
    days, gaps of 0 to 30 minutes (what the booking page asks for on every load)."""
    start = datetime.fromisoformat(WINDOW[0])
    made = client.post("/api/v1/scheduling_requests", headers=headers, json={
        "scheduling_request": {
            "interviewee_id": 1, "from": start.isoformat(),
            "to": (start + timedelta(days=5)).isoformat(),
            "rounds": [{"duration_minutes": 45, "interviewer_ids": INTERVIEWERS}] * 2,
            "gap_minutes": {"min": 0, "max": 30}, "kind": "phone_call",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}})
    assert made.status_code == 201, made.text
    path = f"/api/v1/scheduling_requests/{made.json()['scheduling_request']['id']}/options"
    timings = [timed(client, "GET", path, headers) for _ in range(runs + 10)]
    return timings[10:]


def held_creates(client, headers: dict, runs: int) -> tuple[list[Timing], list[Timing]]:
    """A plain create and a create over a hold of its own, alternating, each in free slots,
    with 100 other active holds (of other times) in the database."""
    interviewees = itertools.cycle(range(1, INTERVIEWEES + 1))
    free = ((start, end, lead) for start, end in slots(date(2034, 2, 6)) for lead in INTERVIEWERS)

    def body(start, end, lead, **extra):
        return {"interview": {"interviewee_id": next(interviewees), "interviewer_id": lead,
                              "kind": "phone_call", "start_at": start, "end_at": end, **extra}}

    def hold(start, end, lead, interviewee) -> int:
        response = client.post("/api/v1/holds", headers=headers, json={"hold": {
            "interviewee_id": interviewee, "ttl_seconds": 900,
            "slots": [{"start_at": start, "end_at": end, "interviewer_ids": [lead]}]}})
        assert response.status_code == 201, response.text
        return response.json()["hold"]["id"]

    for start, end, lead in itertools.islice(free, 100):
        hold(start, end, lead, next(interviewees))
    plain, over = [], []
    for _ in range(runs + 10):
        plain.append(timed(client, "POST", "/api/v1/interviews", headers, body(*next(free))))
        start, end, lead = next(free)
        fields = body(start, end, lead)
        hold_id = hold(start, end, lead, fields["interview"]["interviewee_id"])
        fields["interview"]["hold_id"] = hold_id
        over.append(timed(client, "POST", "/api/v1/interviews", headers, fields))
    return plain[10:], over[10:]


def p50(timings: list[Timing], cpu: bool = False) -> float:
    return statistics.median(t[cpu] for t in timings)


def run_size(server: str | None, rows: int, runs: int, scratch: str) -> dict[str, list[Timing]]:
    name = None
    if server and server.startswith("postgres"):
        name = f"interviews_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = server.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{scratch}/bench-{rows}.db"
    try:
        app = create_app(Settings(database_url=url, jwt_secret=SECRET, env="production",
                                  rate_limit="off", webhook_delivery=False))
        migrate()
        began = time.perf_counter()
        with database.connection_context():
            with database.atomic():
                load(rows)
            # What the database would have done by then (as bench/load.py vacuums): otherwise
            # autovacuum and the checkpoint of the freshly loaded rows (or, on SQLite, reads
            # through a WAL holding them all) run during the measurement.
            if isinstance(database.obj, PostgresqlDatabase):
                database.execute_sql("VACUUM ANALYZE")
                database.execute_sql("CHECKPOINT")
            else:
                database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"loaded {rows} interviews in {time.perf_counter() - began:.1f} s "
              f"({url.split(':')[0]})", flush=True)
        token = issue_token(Settings(database_url=url, jwt_secret=SECRET), COORDINATOR)
        headers = {"Authorization": f"Bearer {token}"}
        with app.test_client() as client:
            found = {"availability mode=any": availability(client, headers, runs, "any"),
                     "availability mode=all": availability(client, headers, runs, "all")}
            found["create"], found["create with a panel of 4"] = creates(client, headers, runs)
            found["loop search 3 rounds x 5"] = loop_search(client, headers, runs)
            found["scheduling-request options 2 rounds x 5"] = request_options(client, headers,
                                                                               runs)
            found["create (100 holds about)"], found["create over its hold"] = held_creates(
                client, headers, runs)
        for what, timings in found.items():
            q = statistics.quantiles([wall for wall, _ in timings], n=100)
            print(f"  {rows} {what}: p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, CPU p50 "
                  f"{p50(timings, cpu=True):.2f} ms over {len(timings)}", flush=True)
        return found
    finally:
        database.close_all()
        if name:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                              .format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--sizes", default="1k,1M")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    sizes = [(label, size(label)) for label in args.sizes.split(",")]
    kind = "postgresql" if args.database_url else "sqlite"
    print(f"{kind}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        table = {label: run_size(args.database_url, rows, args.runs, scratch)
                 for label, rows in sizes}
    first, last = sizes[0][0], sizes[-1][0]
    print(f"\n{kind}: p50 ms, 5 interviewers, 14 days at 15 minutes; creates in free slots "
          "(wall clock; in brackets the CPU time of this process: client and app)")
    print(f"| request | {' | '.join(label for label, _ in sizes)} | growth {last}/{first} |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for what in table[first]:
        cells = [(p50(table[label][what]), p50(table[label][what], cpu=True)) for label, _ in sizes]
        shown = " | ".join(f"{wall:.2f} ({cpu:.2f})" for wall, cpu in cells)
        print(f"| {what} | {shown} | x{cells[-1][0] / cells[0][0]:.2f} "
              f"(x{cells[-1][1] / cells[0][1]:.2f}) |")
    for label, _ in sizes:
        cells = table[label]
        ratio = [p50(cells["create with a panel of 4"], cpu) / p50(cells["create"], cpu)
                 for cpu in (False, True)]
        print(f"panel of 4 / no panel at {label}: x{ratio[0]:.2f} (CPU x{ratio[1]:.2f})")
        ratio = [p50(cells["create over its hold"], cpu) / p50(cells["create (100 holds about)"],
                                                                cpu) for cpu in (False, True)]
        print(f"create over its hold / create at {label}: x{ratio[0]:.2f} "
              f"(CPU x{ratio[1]:.2f})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
