"""Limits on what one request may send (issue 8): each defect found, and what a client sees.

In-process through the test client where the app decides; against `interviews serve` where
the HTTP server does (header size as read from the socket, slow clients, malformed requests).
"""
from __future__ import annotations

import json
import socket
import stat
import time

import jwt
import pytest

from db.models import Interview
from handlers.platform import settings as settings_module
from handlers.platform.settings import Settings, SettingsError
from tests.helpers.booking import book, interview_body
from tests.helpers.people import SECRET, People
from tests.helpers.raw_http import (
    FAST,
    assert_problem,
    assert_raw_problem,
    exchange,
    parse,
    port_of,
)
from tests.helpers.servers import serving
from tests.helpers.tokens import claims_for


def nested(depth: int) -> bytes:
    """A create body whose `location` is `depth` arrays deep."""
    return b'{"interview": {"location": ' + b"[" * depth + b"]" * depth + b"}}"


# 1. Depth -----------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [65, 2_000, 10_000])
def test_deep_json_is_refused_before_it_is_parsed(client, people: People, depth):
    response = client.post("/api/v1/interviews", content=nested(depth),
                           headers={**people.auth(people.coordinator),
                                    "Content-Type": "application/json"})
    body = assert_problem(response, 400, "malformed_json")
    assert "deeper than 64" in body["detail"]


def test_brackets_inside_strings_do_not_count_as_depth(client, people: People):
    body = interview_body(people, location="https://zoom.com/" + "[{" * 200)
    response = client.post("/api/v1/interviews", json=body, headers=people.auth(people.coordinator))
    assert response.status_code == 200, response.text


# 2. Lone surrogates -------------------------------------------------------------------------

@pytest.mark.parametrize("location", ["https://zoom.com/a\ud800b", "https://zoom.com/\udfff"])
def test_a_lone_surrogate_is_malformed_json_and_nothing_is_written(client, people: People, db,
                                                                   location):
    before = Interview.select().count()
    raw = json.dumps(interview_body(people, location=location))  # ensure_ascii: "\\ud800"
    assert "\\ud" in raw
    response = client.post("/api/v1/interviews", content=raw,
                           headers={**people.auth(people.coordinator),
                                    "Content-Type": "application/json"})
    assert "surrogate" in assert_problem(response, 400, "malformed_json")["detail"]
    assert Interview.select().count() == before


def test_a_lone_surrogate_in_a_cancel_reason_is_refused(client, people: People):
    interview = book(client, people)
    response = client.post(f"/api/v1/interviews/{interview['id']}/cancel",
                           content='{"reason": "a\\ud800b"}',
                           headers={**people.auth(people.interviewer),
                                    "Content-Type": "application/json"})
    assert_problem(response, 400, "malformed_json")
    shown = client.get(f"/api/v1/interviews/{interview['id']}",
                       headers=people.auth(people.interviewer))
    assert shown.json()["interview"]["status"] == "pending"


def test_a_surrogate_pair_is_a_character(client, people: People):
    body = json.dumps(interview_body(people, location="https://zoom.com/\U0001F600"))
    assert "\\ud83d\\ude00" in body
    response = client.post("/api/v1/interviews", content=body,
                           headers={**people.auth(people.coordinator),
                                    "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["interview"]["location"].endswith("\U0001F600")


# 3. Header size (the app's check; the server's is below) -------------------------------------

def test_headers_over_the_limit_are_431(client, people: People):
    response = client.get("/api/v1/me",
                          headers={**people.auth(people.driver), "X-Padding": "a" * 20_000})
    assert "16384" in assert_problem(response, 431, "headers_too_large")["detail"]
    assert client.get("/api/v1/me", headers={**people.auth(people.driver), "X-Padding": "a" * 8_000}
                      ).status_code == 200


# 4. Chunked bodies --------------------------------------------------------------------------

def chunks(document: dict, size: int = 7):
    raw = json.dumps(document).encode()
    return iter([raw[i:i + size] for i in range(0, len(raw), size)])  # httpx sends it chunked


def test_chunked_bodies_work_on_create_update_and_propose(client, people: People):
    coordinator = {**people.auth(people.coordinator), "Content-Type": "application/json"}
    created = client.post("/api/v1/interviews", content=chunks(interview_body(people)),
                          headers=coordinator)
    assert created.status_code == 200, created.text
    path = f"/api/v1/interviews/{created.json()['interview']['id']}"
    updated = client.patch(path, content=chunks({"interview": {"location": "https://meet.example/x"}}),
                           headers=coordinator)
    assert updated.status_code == 200, updated.text
    assert updated.json()["interview"]["location"] == "https://meet.example/x"
    body = interview_body(people)["interview"]
    start, end = body["start_at"], body["end_at"]
    proposed = client.post(path + "/amendment", headers=coordinator,
                           content=chunks({"amendment": {"start_at": start, "end_at": end}}))
    assert proposed.status_code == 200, proposed.text


def test_an_oversized_chunked_body_is_413(client, people: People, db):
    before = Interview.select().count()
    body = interview_body(people, location="https://zoom.com/" + "a" * 70_000)
    response = client.post("/api/v1/interviews", content=chunks(body, 4096),
                           headers={**people.auth(people.coordinator),
                                    "Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")
    assert Interview.select().count() == before


# 5. User ids in `sub` -----------------------------------------------------------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("sub", [
    "²", "¹²", "٣", " 12", "12 ", "+12", "1_000", "0x1f", "1" * 19, "",
])
def test_a_sub_that_is_not_ascii_digits_is_401(client, sub):
    token = jwt.encode(claims_for(1, sub=sub), SECRET, algorithm="HS256")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
                   401, "unauthorized")


def test_arabic_indic_digits_do_not_name_a_user(client, people: People):
    sub = str(people.coordinator.id).translate(ARABIC_INDIC)
    assert int(sub) == people.coordinator.id  # what Python would have made of it
    token = jwt.encode(claims_for(1, sub=sub), SECRET, algorithm="HS256")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
                   401, "unauthorized")


# 8. The development secret ------------------------------------------------------------------

def test_development_makes_a_secret_per_install_and_keeps_it(tmp_path, monkeypatch):
    assert not hasattr(settings_module, "DEVELOPMENT_SECRET")  # no secret in the repository
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = Settings.from_env({}).jwt_secret
    kept = tmp_path / "a" / "var" / "jwt-secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text() == first and len(first) >= 32
    assert Settings.from_env({}).jwt_secret == first  # reused
    monkeypatch.chdir(tmp_path / "b")
    assert Settings.from_env({}).jwt_secret != first  # another install, another secret


def test_production_still_requires_a_secret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError):
        Settings.from_env({"INTERVIEWS_ENV": "production"})
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("environ", [
    {"INTERVIEWS_RATE_LIMIT": "lots"}, {"INTERVIEWS_MAX_HEADER_BYTES": "10"},
    {"INTERVIEWS_BODY_TIMEOUT_SECONDS": "0"}, {"INTERVIEWS_HEADER_TIMEOUT_SECONDS": "x"},
])
def test_bad_limits_are_refused(environ):
    with pytest.raises(SettingsError):
        Settings.from_env({"INTERVIEWS_JWT_SECRET": SECRET, **environ})


# Against the real server: 3, 6, 7 ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=1, env=FAST) as (base, _):
        yield port_of(base)


@pytest.mark.parametrize("size", [20_000, 1_000_000, 8_000_000])
def test_the_server_refuses_huge_headers_with_431(server, size):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * size + b"\r\n\r\n"
    try:
        raw = exchange(server, request)
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection without an answer")
    assert_raw_problem(raw, 431, "headers_too_large")


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n", b"GET /healthz HTTP/9.9\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
    (b"POST /api/v1/interviews HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 5\r\nContent-Length: 7\r\n\r\n"),
])
def test_malformed_requests_get_problem_json_with_our_headers(server, request_bytes):
    assert_raw_problem(exchange(server, request_bytes), 400, "bad_request")


def test_slow_and_silent_clients_are_cut_off(server):
    silent = [socket.create_connection(("127.0.0.1", server)) for _ in range(100)]
    trickling = [socket.create_connection(("127.0.0.1", server)) for _ in range(100)]
    for sock in trickling:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    try:
        # Meanwhile the server answers others.
        assert parse(exchange(server,
                              b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"))[0] == 200
        for sock in silent:
            sock.settimeout(10)
            assert sock.recv(100) == b""  # closed without a word: nothing was asked
        for sock in trickling:
            sock.settimeout(10)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            assert_raw_problem(received, 408, "request_timeout")
        assert time.monotonic() - started < 6  # 1 s limit, with room for a loaded machine
    finally:
        for sock in silent + trickling:
            sock.close()


def test_a_body_that_does_not_arrive_is_408(server, people: People, db):
    before = Interview.select().count()
    body = json.dumps(interview_body(people)).encode()
    head = (f"POST /api/v1/interviews HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {people.auth(people.coordinator)['Authorization']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    started = time.monotonic()
    raw = exchange(server, head + body[:20])  # and the rest never comes
    assert_raw_problem(raw, 408, "request_timeout")
    assert time.monotonic() - started < 6
    assert Interview.select().count() == before


def test_a_chunked_body_reaches_the_app_through_the_server(server, people: People):
    body = json.dumps(interview_body(people)).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                       for i in range(0, len(body), 50)) + b"0\r\n\r\n"
    head = (f"POST /api/v1/interviews HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {people.auth(people.coordinator)['Authorization']}\r\n"
            f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    status, headers, answer = parse(exchange(server, head + chunked))
    assert status == 200, answer
    assert headers["content-type"] == "application/json; charset=utf-8"
