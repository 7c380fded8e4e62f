"""What an attacker sends, to every operation that takes input: always a 4xx problem+json with
our headers, never a 500, and not a row changed."""
from __future__ import annotations

import json
from urllib.parse import quote

import jwt
import pytest

from db.idempotency import IdempotencyKey
from db.models import Event, Interview
from db.schedules import TimeOff
from tests.helpers.booking import book, book_past, bring_to, interview_body
from tests.helpers.people import SECRET, People
from tests.helpers.raw_http import FAST, assert_problem, assert_raw_problem, exchange, port_of
from tests.helpers.servers import serving
from tests.helpers.tokens import claims_for

WITH_BODY = {
    "createInterview": ("POST", "/api/v1/interviews"),
    "createInterviewTrailingSlash": ("POST", "/api/v1/interviews/"),
    "updateInterview": ("PATCH", "/api/v1/interviews/{id}"),
    "confirmInterview": ("POST", "/api/v1/interviews/{id}/confirm"),
    "declineInterview": ("POST", "/api/v1/interviews/{id}/decline"),
    "cancelInterview": ("POST", "/api/v1/interviews/{id}/cancel"),
    "completeInterview": ("POST", "/api/v1/interviews/{id}/complete"),
    "markInterviewNoShow": ("POST", "/api/v1/interviews/{id}/no_show"),
    "proposeAmendment": ("POST", "/api/v1/interviews/{id}/amendment"),
}
WITH_PARAMS = {
    "showInterview": ("GET", "/api/v1/interviews/{id}"),
    "listInterviewEvents": ("GET", "/api/v1/interviews/{id}/events"),
    "withdrawAmendment": ("DELETE", "/api/v1/interviews/{id}/amendment"),
    "acceptAmendment": ("POST", "/api/v1/interviews/{id}/amendment/accept"),
    "rejectAmendment": ("POST", "/api/v1/interviews/{id}/amendment/reject"),
}
EVERY = {**WITH_BODY, **WITH_PARAMS, "listInterviews": ("GET", "/api/v1/interviews"),
         "showMe": ("GET", "/api/v1/me")}
JSON = {"Content-Type": "application/json"}

# name -> (raw body, status, code)
BODIES = {
    "nested 2,000 deep": (b'{"reason": ' + b"[" * 2000 + b"]" * 2000 + b"}", 400, "malformed_json"),
    "nested 100,000 deep": (b"{" * 60_000, 400, "malformed_json"),
    "escaped lone surrogate": (
        b'{"reason": "a\\ud800b", "interview": {"location": "\\udfff"}}', 400, "malformed_json"),
    "UTF-8 encoded surrogate": (b'{"reason": "a\xed\xa0\x80b"}', 400, "malformed_json"),
    "overlong UTF-8": (b'{"reason": "\xc0\xaf"}', 400, "malformed_json"),
    "Latin-1": (b'{"reason": "caf\xe9"}', 400, "malformed_json"),
    "UTF-16": ('{"reason": "x"}'.encode("utf-16"), 400, "malformed_json"),
    "UTF-8 byte order mark": (b'\xef\xbb\xbf{"reason": "x"}', 400, "malformed_json"),
    "NUL": (b'{"reason": "x"}\x00', 400, "malformed_json"),
    "over 64 KiB": (b'{"reason": "' + b"a" * 70_000 + b'"}', 413, "payload_too_large"),
    "a huge number": (b'{"reason": 1' + b"0" * 5000 + b"}", 400, None),
}
ODD_IDS = ["²", "١٠١٥", "１", "1e3", "0x10", " 1", "1 ", "+1", "-1", "1_0", "9" * 40, "1.0", "%00",
           "\ud800"]
ODD_SUBS = ["²", "١٠١٥", "１２", "1e3", "-1", "9" * 19, "", " 1"]


@pytest.fixture
def rows(db):
    """Counts every table a request could write; the test asserts they did not move."""
    def snapshot():
        interviews = Interview.select().order_by(Interview.id)
        return [Interview.select().count(), Event.select().count(), IdempotencyKey.select().count(),
                [(i.id, i.version, i.status, i.location) for i in interviews]]
    return snapshot


@pytest.fixture
def target(client, people: People) -> dict:
    return book(client, people)


def url(path: str, target: dict) -> str:
    return path.format(id=target["id"])


@pytest.mark.parametrize("name", BODIES)
@pytest.mark.parametrize("operation", WITH_BODY)
def test_hostile_bodies(client, people, target, rows, operation, name):
    method, path = WITH_BODY[operation]
    raw, status, code = BODIES[name]
    before = rows()
    response = client.request(method, url(path, target), content=raw,
                              headers={**people.auth(people.coordinator), **JSON})
    if code is None:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
    else:
        assert_problem(response, status, code)
    assert rows() == before


NUL = "a\x00b"
# operationId -> (method, path, body, field named, who acts, state of the interview {id})
NUL_IN_STORED_TEXT = {
    "createInterview": ("POST", "/api/v1/interviews", None, "location", "coordinator", None),
    "updateInterview": ("PATCH", "/api/v1/interviews/{id}",
                        {"interview": {"kind": "in_person", "location": NUL}}, "location",
                        "coordinator", "pending"),
    **{operation: ("POST", f"/api/v1/interviews/{{id}}/{action}", {"reason": NUL}, "reason", who,
                   state) for operation, action, who, state in (
        ("confirmInterview", "confirm", "driver", "pending"),
        ("declineInterview", "decline", "driver", "pending"),
        ("cancelInterview", "cancel", "coordinator", "pending"),
        ("completeInterview", "complete", "coordinator", "past confirmed"),
        ("markInterviewNoShow", "no_show", "coordinator", "past confirmed"))},
    "createTimeOff": ("POST", "/api/v1/interviewers/{interviewer}/time_off", {"time_off": {
        "start_at": "2035-01-01T00:00:00Z", "end_at": "2035-01-02T00:00:00Z", "reason": NUL}},
        "time_off.reason", "coordinator", None),
}


@pytest.mark.parametrize("operation", NUL_IN_STORED_TEXT)
def test_a_nul_in_stored_text_is_422(client, people, rows, db, operation):
    """Valid JSON that no PostgreSQL text column stores (there it was a 500; SQLite kept it):
    the same 422 naming the field on both backends, and not a row changed."""
    method, path, body, field, who, state = NUL_IN_STORED_TEXT[operation]
    interview = {"id": 0}
    if state == "pending":
        interview = book(client, people)
    elif state == "past confirmed":
        interview = bring_to(client, people, book_past(client, people), "confirmed")
    if body is None:
        body = interview_body(people, kind="phone_call", location=NUL)
    before, time_off = rows(), TimeOff.select().count()
    where = path.format(id=interview["id"], interviewer=people.interviewer.id)
    response = client.request(method, where, json=body, headers=people.auth(getattr(people, who)))
    assert_problem(response, 422, "invalid")
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert rows() == before and TimeOff.select().count() == time_off


@pytest.mark.parametrize("operation", WITH_BODY)
def test_an_oversized_chunked_body(client, people, target, rows, operation):
    method, path = WITH_BODY[operation]
    before = rows()
    chunks = iter([b'{"reason": "', b"a" * 70_000, b'"}'])
    response = client.request(method, url(path, target), content=chunks,
                              headers={**people.auth(people.coordinator), **JSON})
    assert_problem(response, 413, "payload_too_large")
    assert rows() == before


@pytest.mark.parametrize("operation", EVERY)
def test_huge_headers(client, people, target, rows, operation):
    method, path = EVERY[operation]
    before = rows()
    body = b"{}" if operation in WITH_BODY else None
    response = client.request(method, url(path, target), content=body,
                              headers={**people.auth(people.coordinator), **JSON,
                                       "X-Junk": "j" * 40_000})
    assert_problem(response, 431, "headers_too_large")
    assert rows() == before


@pytest.mark.parametrize("sub", ODD_SUBS)
@pytest.mark.parametrize("operation", EVERY)
def test_odd_digits_in_sub(client, people, target, rows, operation, sub):
    method, path = EVERY[operation]
    token = jwt.encode(claims_for(1, sub=sub), SECRET, algorithm="HS256")
    before = rows()
    body = b"{}" if operation in WITH_BODY else None
    response = client.request(method, url(path, target), content=body,
                              headers={"Authorization": f"Bearer {token}", **JSON})
    assert_problem(response, 401, "unauthorized")
    assert rows() == before


@pytest.mark.parametrize("odd", ODD_IDS)
@pytest.mark.parametrize("operation", [op for op, (_, path) in EVERY.items() if "{id}" in path])
def test_odd_digits_in_ids(client, people, rows, operation, odd):
    method, path = EVERY[operation]
    before = rows()
    response = client.request(method, path.format(id=quote(odd, safe="", errors="surrogatepass")),
                              content=b"{}" if operation in WITH_BODY else None,
                              headers={**people.auth(people.coordinator), **JSON})
    assert 400 <= response.status_code < 500 and response.status_code != 405, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert rows() == before


@pytest.mark.parametrize("query", [
    "interviewer_id=²", "interviewer_id=١٠١٥", "limit=１０", "limit=1e1", "interviewee_id=-1",
    "interviewer_id=" + "9" * 40, "start_from=2031-01-01T00:00:00%ED%A0%80", "kind=%ff",
    "cursor=%00",
    "status=" + "x" * 20_000, "interviewer_id=1&interviewer_id=2&" * 500,
], ids=lambda query: query[:40])
def test_hostile_query_strings(client, people, query):
    response = client.get(f"/api/v1/interviews?{query}", headers=people.auth(people.coordinator))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture(scope="module")
def slow_server(app, database_url):
    with serving(database_url, workers=1, env=FAST) as (base, _):
        yield port_of(base)


@pytest.mark.parametrize("operation", WITH_BODY)
def test_slow_bodies(slow_server, people, target, rows, operation):
    method, path = WITH_BODY[operation]
    body = json.dumps({"reason": "slow"}).encode()
    head = (f"{method} {url(path, target)} HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\n"
            f"Authorization: {people.auth(people.coordinator)['Authorization']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    before = rows()
    assert_raw_problem(exchange(slow_server, head + body[:5]), 408, "request_timeout")
    assert rows() == before
