"""People: the caller, the directory of whom to book, and the coordinators' upserts."""
from __future__ import annotations

from connexion import request

from db import directory, people
from handlers.wire import cursors, present


def show_me(token_info: dict):
    return {"user": present.user(token_info["caller"])}, 200, {"Content-Type": present.JSON}


def list_interviewers(token_info: dict, limit: int = 25, cursor: str | None = None,
                      q: str | None = None):
    filters = {"q": q} if q else {}
    query_id = cursors.fingerprint({"list": "interviewers", **filters})
    after = cursors.decode(cursor, query_id, cursors.title_and_id) if cursor else None
    rows, more = directory.page(directory.interviewers_query(token_info["caller"], q, after), limit)
    next_cursor = cursors.encode([rows[-1].title, rows[-1].id], query_id) if more else None
    return ({"interviewers": [present.interviewer_summary(r) for r in rows],
             "next_cursor": next_cursor}, 200,
            cursors.page_headers(request.url.path, filters, limit, next_cursor))


def list_interviewees(token_info: dict, limit: int = 25, cursor: str | None = None,
                      q: str | None = None, driver_id: int | None = None):
    filters = {k: v for k, v in (("q", q), ("driver_id", driver_id)) if v not in (None, "")}
    query_id = cursors.fingerprint({"list": "interviewees", **filters})
    after = cursors.decode(cursor, query_id, cursors.last_id) if cursor else None
    query = directory.interviewees_query(token_info["caller"], q, driver_id, after)
    rows, more = directory.page(query, limit)
    next_cursor = cursors.encode([rows[-1].id], query_id) if more else None
    return ({"interviewees": [present.candidacy(r) for r in rows], "next_cursor": next_cursor},
            200, cursors.page_headers(request.url.path, filters, limit, next_cursor))


def upsert_user(id: int, body: dict, token_info: dict):
    user, created = people.put_user(token_info["caller"], id, body["user"])
    return {"user": present.user(user)}, 201 if created else 200, {"Content-Type": present.JSON}


def upsert_interviewee(id: int, body: dict, token_info: dict):
    row, created = people.put_interviewee(token_info["caller"], id, body["interviewee"])
    return ({"interviewee": present.candidacy(row)}, 201 if created else 200,
            {"Content-Type": present.JSON})
