"""No double-booking under concurrency: many clients, several server processes, one database."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from db.models import Interview
from tests.conftest import SECRET, People, interview_body

ATTEMPTS = 40


@pytest.fixture(scope="module")
def server(app, database_url):
    """`interviews serve` with two worker processes on the test database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "INTERVIEWS_DATABASE_URL": database_url, "INTERVIEWS_JWT_SECRET": SECRET,
           "INTERVIEWS_ENV": "production"}
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the server did not become ready: " + process.stderr.read().decode()[-2000:])
    yield base
    process.terminate()
    process.wait(timeout=30)


def hammer(base: str, requests: list[tuple[dict, dict]]) -> Counter:
    """Send every (headers, body) at once from many threads; count the statuses."""
    with httpx.Client(base_url=base, timeout=30) as http:
        def post(item):
            headers, body = item
            return http.post("/api/v1/interviews", json=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            return Counter(pool.map(post, requests))


def test_concurrent_overlapping_bookings_have_one_winner(server, people: People, db):
    start = datetime(2035, 6, 1, 9, tzinfo=UTC)
    requests = []
    for attempt in range(ATTEMPTS):
        # Every slot overlaps every other: same interviewer, starts a minute apart.
        begin = start + timedelta(minutes=attempt % 10)
        body = interview_body(people, begin.isoformat(), (begin + timedelta(minutes=30)).isoformat())
        requests.append((people.auth(people.coordinator), body))
    statuses = hammer(server, requests)
    print(f"\nrace: {ATTEMPTS} attempts -> {dict(statuses)}")
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
    assert Interview.select().where(Interview.interviewer == people.interviewer.id).count() == 1


def test_concurrent_bookings_of_one_interviewee_by_many_interviewers(server, people: People, db):
    from tests.conftest import make_user

    interviewers = [make_user("interviewer") for _ in range(8)]
    begin = datetime(2035, 7, 1, 9, tzinfo=UTC)
    requests = [
        (people.auth(people.coordinator),
         interview_body(people, begin.isoformat(), (begin + timedelta(hours=1)).isoformat(),
                        interviewer_id=interviewer.id))
        for interviewer in interviewers for _ in range(3)
    ]
    statuses = hammer(server, requests)
    assert statuses == Counter({200: 1, 409: len(requests) - 1})
    assert Interview.select().where(Interview.interviewee == people.interviewee.id).count() == 1
