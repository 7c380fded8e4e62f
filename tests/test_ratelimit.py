"""Rate limits (DESIGN.md, "Limits and operations"): per caller, headers, 429, shared via Redis."""
from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest

from db.connection import open_database
from handlers.platform.app import create_app
from handlers.platform.ratelimit import RateLimitMiddleware
from handlers.platform.settings import Settings
from tests.helpers.people import People
from tests.helpers.servers import serving

REDIS_URL = os.environ.get("INTERVIEWS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REMAINING = re.compile(r'^"default";r=(\d+);t=(\d+)$')


def redis_or_skip() -> None:
    """Skip without Redis, unless every part is required (CI): then fail."""
    where = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((where.hostname, where.port or 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16).startswith(b"+PONG"), "not a Redis server"
    except (OSError, AssertionError) as error:
        if os.environ.get("INTERVIEWS_TEST_REQUIRE_ALL") == "1":
            pytest.fail(
                f"Redis at {REDIS_URL} is required (INTERVIEWS_TEST_REQUIRE_ALL=1): {error}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {error}")


@pytest.fixture
def limited(app, settings: Settings):
    """A test client for an app limited to 3 requests a minute (kept in memory)."""
    application = create_app(replace(settings, rate_limit="3/minute"))
    with application.test_client() as client:
        yield client
    open_database(settings.database_url, max_connections=settings.threads + 8)


def remaining(response) -> int:
    match = REMAINING.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    assert 1 <= int(match.group(2)) <= 60
    return int(match.group(1))


def test_each_caller_has_a_window_and_the_excess_is_429(limited, people: People):
    driver = people.auth(people.driver)
    answers = [limited.get("/api/v1/me", headers=driver) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert all(a.headers["ratelimit-policy"] == '"default";q=3;w=60' for a in answers)
    assert [remaining(a) for a in answers] == [2, 1, 0, 0]
    refused = answers[3]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-content-type-options"] == "nosniff"  # the seed's headers too
    # Another caller, and anonymous requests (counted by address), have windows of their own.
    assert limited.get("/api/v1/me", headers=people.auth(people.interviewer)).status_code == 200
    assert limited.get("/api/v1/me").status_code == 401


def test_errors_are_counted_and_carry_the_headers(limited, people: People):
    for _ in range(3):
        answer = limited.get("/api/v1/interviews/0", headers=people.auth(people.coordinator))
        assert answer.status_code in (400, 404) and "ratelimit" in answer.headers
    assert limited.get("/api/v1/me", headers=people.auth(people.coordinator)).status_code == 429


def test_a_bad_token_is_counted_by_address(limited, people: People):
    forged = {"Authorization": "Bearer not.a.token"}
    answers = [limited.get("/api/v1/me", headers=forged).status_code for _ in range(4)]
    assert answers == [401] * 3 + [429]
    # The address is spent, the user is not: a valid token still gets through.
    assert limited.get("/api/v1/me", headers=people.auth(people.other_driver)).status_code == 200


def test_the_limiter_and_the_bearer_check_share_one_verification(limited, people: People,
                                                                 monkeypatch):
    """One cache of verified tokens: a token costs one HMAC for both, a bad one too."""
    from handlers.platform import auth

    calls = []
    real = auth.jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    auth._remembered.clear()
    good = people.auth(people.interviewer)
    bad = {"Authorization": "Bearer not.a.token"}
    assert [limited.get("/api/v1/me", headers=good).status_code for _ in range(2)] == [200, 200]
    assert [limited.get("/api/v1/me", headers=bad).status_code for _ in range(2)] == [401, 401]
    assert calls == [good["Authorization"][7:], "not.a.token"]


def test_probes_metrics_and_the_spec_are_not_counted(limited):
    for _ in range(5):
        for path in ("/healthz", "/readyz", "/api/v1/openapi.json"):
            answer = limited.get(path)
            assert answer.status_code == 200 and "ratelimit" not in answer.headers


def test_off_means_no_limit_and_no_headers(client, people: People):
    answer = client.get("/api/v1/me", headers=people.auth(people.driver))
    assert answer.status_code == 200 and "ratelimit" not in answer.headers


def test_two_workers_share_one_limit_through_redis(app, database_url, people: People):
    redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}"
    env = {"INTERVIEWS_RATE_LIMIT": "20/minute", "INTERVIEWS_REDIS_URL": REDIS_URL,
           "INTERVIEWS_RATE_LIMIT_PREFIX": prefix}
    with serving(database_url, workers=2, env=env) as (base, _):
        answers = []
        for _ in range(30):  # a new connection each: the kernel spreads them over both workers
            with httpx.Client(base_url=base, timeout=10) as http:
                answers.append(http.get("/api/v1/me", headers=people.auth(people.driver)))
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 20 + [429] * 10, statuses
    assert [remaining(a) for a in answers[:20]] == list(range(19, -1, -1))  # one count, not two


def test_a_limit_in_redis_is_kept_per_prefix(settings: Settings):
    redis_or_skip()
    shared = replace(settings, rate_limit="2/minute", redis_url=REDIS_URL,
                     rate_limit_prefix=f"test-{uuid.uuid4().hex}")

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def statuses(limiter: RateLimitMiddleware, count: int) -> list[int]:
        seen = []

        async def send(message):
            if message["type"] == "http.response.start":
                seen.append(message["status"])

        scope = {"type": "http", "path": "/api/v1/me", "headers": [], "client": ("10.0.0.1", 1)}
        for _ in range(count):
            await limiter(scope, None, send)
        return seen

    # Two limiters (as in two processes) on one prefix share it; another prefix is apart.
    first, second = RateLimitMiddleware(ok, shared), RateLimitMiddleware(ok, shared)
    other = RateLimitMiddleware(ok, replace(shared, rate_limit_prefix=f"test-{uuid.uuid4().hex}"))
    assert asyncio.run(statuses(first, 1)) == [204]
    assert asyncio.run(statuses(second, 2)) == [204, 429]
    assert asyncio.run(statuses(other, 1)) == [204]


def test_unreachable_redis_lets_requests_through(settings: Settings):
    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limiter = RateLimitMiddleware(
        ok, replace(settings, rate_limit="1/minute", redis_url="redis://127.0.0.1:9/0"))
    seen = []

    async def send(message):
        seen.append(message)

    started = time.monotonic()
    scope = {"type": "http", "path": "/api/v1/me", "headers": [], "client": None}
    asyncio.run(limiter(scope, None, send))
    assert seen[0]["status"] == 204 and time.monotonic() - started < 10



def test_in_process_windows_count_as_limits_memory_storage(monkeypatch):
    """WindowCounts answers incr and get_expiry as `limits`' MemoryStorage does."""
    import asyncio
    import time as clock_module

    from limits.aio.storage import MemoryStorage

    from handlers.platform.ratelimit import WindowCounts

    clock = [1_000_000.0]
    monkeypatch.setattr(clock_module, "time", lambda: clock[0])
    steps = [("a", 0), ("a", 1), ("b", 0), ("a", 58.9), ("a", 0.1), ("b", 0), ("a", 0.5),
             ("a", 60), ("c", 0), ("a", 0), ("b", 120), ("a", 59.99), ("a", 0.01)]

    async def run(storage) -> list:
        seen = []
        for key, advance in steps:
            clock[0] += advance
            seen.append((await storage.incr(key, 60), await storage.get_expiry(key),
                         await storage.get_expiry("never")))
        return seen

    for_clock = clock[0]
    ours = asyncio.run(run(WindowCounts()))
    clock[0] = for_clock
    assert ours == asyncio.run(run(MemoryStorage()))
    assert [count for count, _, _ in ours][:4] == [1, 2, 1, 3]


def test_in_process_windows_are_swept(monkeypatch):
    import asyncio

    from handlers.platform import ratelimit

    monkeypatch.setattr(ratelimit, "SWEEP_AT", 8)
    counts = ratelimit.WindowCounts()
    clock = [0.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])

    async def run() -> None:
        for n in range(100):
            clock[0] += 1
            await counts.incr(f"caller-{n}", 5)  # each window lasts 5 ticks

    asyncio.run(run())
    assert len(counts.counts) == len(counts.ends) <= 16
    assert counts.counts["caller-99"] == 1 and counts.ends["caller-99"] == 105
