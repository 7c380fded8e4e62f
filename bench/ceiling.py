"""The ceiling: the same database work as the product for the same requests, with no
validation and no framework beyond Starlette. Not part of the product; `make bench` serves
it exactly as it serves the product, to report our throughput as a ratio of this one's.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime

import jwt
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

URL = os.environ["INTERVIEWS_DATABASE_URL"]
PG = URL.startswith(("postgres://", "postgresql://"))
SECRET = os.environ["INTERVIEWS_JWT_SECRET"]
local = threading.local()

SELECT = """SELECT i.id, i.amend_end_at, i.amend_start_at, i.amended_by, i.end_at, e.id, e.currency,
    d.id, d.image, d.phone_number, d.title, e.kind, e.updated_at, u.id, u.contact_phone_number,
    u.image, u.title, i.kind, i.location, i.start_at, i.status, i.status_reason, i.created_at,
    i.updated_at
    FROM interview i JOIN "user" u ON u.id = i.interviewer_id
    JOIN interviewee e ON e.id = i.interviewee_id JOIN "user" d ON d.id = e.driver_id"""


class Postgres:
    """psycopg with sqlite3's `?` placeholders, so that both run the same SQL text."""

    def __init__(self) -> None:
        import psycopg

        self.conn = psycopg.connect(URL, autocommit=True)

    def execute(self, sql: str, params: tuple = ()):
        sql = sql.replace("?", "%s").replace("BEGIN IMMEDIATE", "BEGIN")
        return self.conn.execute(sql, params)


def db() -> sqlite3.Connection | Postgres:
    if not hasattr(local, "conn"):
        if PG:
            local.conn = Postgres()
            return local.conn
        conn = sqlite3.connect(URL.removeprefix("sqlite:///"), isolation_level=None,
                               check_same_thread=False)
        for pragma in ("journal_mode = wal", "synchronous = full", "foreign_keys = 1",
                       "busy_timeout = 10000"):
            conn.execute(f"PRAGMA {pragma}")
        local.conn = conn
    return local.conn


def iso(value: str | datetime | None) -> str | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")


def shape(r: tuple) -> dict:
    return {"id": r[0], "amend_end_at": iso(r[1]), "amend_start_at": iso(r[2]), "amended_by": r[3],
            "end_at": iso(r[4]),
            "interviewee": {"id": r[5], "currency": r[6],
                            "driver": {"id": r[7], "image": r[8], "phone_number": r[9],
                                       "title": r[10]},
                            "kind": r[11], "updated_at": iso(r[12])},
            "interviewee_id": r[5],
            "interviewer": {"id": r[13], "contact_phone_number": r[14], "image": r[15],
                            "title": r[16]},
            "interviewer_id": r[13], "kind": r[17], "location": r[18], "start_at": iso(r[19]),
            "status": r[20], "status_reason": r[21], "created_at": iso(r[22]),
            "updated_at": iso(r[23]),
            "allowed_actions": ["edit", "cancel", "propose_amendment"]}


def caller(request: Request) -> tuple | None:
    claims = jwt.decode(request.headers["authorization"][7:], SECRET, algorithms=["HS256"],
                        options={"require": ["exp", "iat", "sub", "jti"]})
    conn = db()
    if conn.execute("SELECT 1 FROM revoked_token WHERE jti = ?", (claims["jti"],)).fetchone():
        return None
    return conn.execute('SELECT id, role FROM "user" WHERE id = ?',
                        (int(claims["sub"]),)).fetchone()


def json_response(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status, media_type="application/json")


def create_work(request: Request, data: dict) -> Response:
    caller(request)
    f = data["interview"]
    start, end = datetime.fromisoformat(f["start_at"]), datetime.fromisoformat(f["end_at"])
    conn = db()
    interviewer = conn.execute('SELECT id, contact_phone_number, image, title FROM "user" '
                               'WHERE id = ? AND role = ?',
                               (f["interviewer_id"], "interviewer")).fetchone()
    interviewee = conn.execute(
        'SELECT e.id, e.currency, d.id, d.image, d.phone_number, d.title, e.kind, e.updated_at '
        'FROM interviewee e JOIN "user" d ON d.id = e.driver_id WHERE e.id = ?',
        (f["interviewee_id"],)).fetchone()
    now = stored(datetime.now(UTC))
    conn.execute("BEGIN IMMEDIATE")
    try:
        clash = conn.execute(
            "SELECT id FROM interview WHERE status IN ('pending', 'confirmed') "
            "AND start_at < ? AND end_at > ? "
            "AND (interviewer_id = ? OR interviewee_id = ?) ORDER BY id",
            (stored(end), stored(start), f["interviewer_id"], f["interviewee_id"])).fetchall()
        if clash:
            conn.execute("ROLLBACK")
            return json_response({"code": "overlap", "conflicts": [c[0] for c in clash]}, 409)
        new_id = conn.execute(
            "INSERT INTO interview (kind, status, start_at, end_at, location, interviewee_id, "
            "interviewer_id, version, created_at, updated_at) "
            "VALUES (?, 'pending', ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id",
            (f["kind"], stored(start), stored(end), f.get("location"), f["interviewee_id"],
             f["interviewer_id"], now, now)).fetchone()[0]
        conn.execute("INSERT INTO event (interview_id, actor_id, action, changes, at) "
                     "VALUES (?, ?, 'create', ?, ?)",
                     (new_id, 1015, json.dumps(f), now))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    row = (new_id, None, None, None, stored(end), *interviewee, *interviewer, f["kind"],
           f.get("location"), stored(start), "pending", None, now, now)
    return json_response({"interview": shape(row)})


async def create(request: Request) -> Response:
    data = await request.json()
    return await run_in_threadpool(create_work, request, data)


def show_work(request: Request, interview_id: int) -> Response:
    caller(request)
    row = db().execute(SELECT + " WHERE i.id = ?", (interview_id,)).fetchone()
    return json_response({"interview": shape(row)})


async def show(request: Request) -> Response:
    return await run_in_threadpool(show_work, request, int(request.path_params["id"]))


def list_work(request: Request, limit: int) -> Response:
    caller(request)
    rows = db().execute(SELECT + " ORDER BY i.start_at, i.id LIMIT ?", (limit + 1,)).fetchall()
    return json_response({"interviews": [shape(r) for r in rows[:limit]], "next_cursor": None})


async def listing(request: Request) -> Response:
    return await run_in_threadpool(list_work, request, int(request.query_params.get("limit", 25)))


app = Starlette(routes=[
    Route("/api/v1/interviews", create, methods=["POST"]),
    Route("/api/v1/interviews", listing, methods=["GET"]),
    Route("/api/v1/interviews/{id:int}", show, methods=["GET"]),
])
