"""Loops under concurrency and crashes: one winner of a shared interviewer's time, and no
half-booked loop after `kill -9` of the server in the middle of a burst."""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from peewee import fn

from db.models import Interview, Loop
from tests.helpers.loops import loop_body
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.servers import hammer, serving

ATTEMPTS = 16
BURST = 40


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=2) as (base, _process):
        yield base


def rounds_per_loop(loop_ids) -> dict[int, int]:
    rows = (Interview.select(Interview.loop, fn.COUNT(Interview.id))
            .where(Interview.loop.in_(list(loop_ids))).group_by(Interview.loop).tuples())
    return dict(rows)


def test_concurrent_loops_sharing_one_interviewers_time_have_one_winner(server, people, db):
    shared = make_user("interviewer")
    start = datetime(2039, 5, 2, 9, tzinfo=UTC)
    requests = []
    for n in range(ATTEMPTS):  # each its own candidate and first and last interviewer
        first, last = make_user("interviewer"), make_user("interviewer")
        begin = start + timedelta(minutes=n % 5)
        requests.append((people.auth(people.coordinator), loop_body(
            make_interviewee(people.driver).id,
            [(begin, first.id, []), (begin + timedelta(hours=1), shared.id, []),
             (begin + timedelta(hours=2), last.id, [])]), "POST", "/api/v1/loops"))
    statuses = hammer(server, requests)
    print(f"\nloop race: {ATTEMPTS} attempts -> {dict(sorted(statuses.items()))}")
    assert statuses == Counter({200: 1, 409: ATTEMPTS - 1})
    assert Interview.select().where(Interview.interviewer == shared.id).count() == 1
    loops = {row.loop_id for row in Interview.select(Interview.loop)
             .where(Interview.interviewer == shared.id)}
    assert set(rounds_per_loop(loops).values()) == {3}


def test_kill_9_mid_burst_leaves_no_partial_loop(people: People, database_url, db):
    auth = people.auth(people.coordinator)
    start = datetime(2039, 6, 1, 9, tzinfo=UTC)
    before = Loop.select(fn.COALESCE(fn.MAX(Loop.id), 0)).scalar()
    acknowledged = []
    with serving(database_url, workers=1) as (base, process):
        def book(n: int) -> None:
            begin = start + timedelta(days=n)
            body = loop_body(make_interviewee(people.driver).id, [
                (begin + timedelta(hours=h), make_user("interviewer").id, []) for h in range(3)])
            try:
                response = httpx.post(base + "/api/v1/loops", json=body, headers=auth,
                                      timeout=10)
            except httpx.HTTPError:
                return  # the server died under this request: booked or not, we count
            if response.status_code == 200:
                acknowledged.append(response.json()["loop"]["id"])

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(book, n) for n in range(BURST)]
            deadline = time.monotonic() + 60
            while len(acknowledged) < BURST // 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            process.kill()  # SIGKILL: in-flight transactions die with it
            for future in futures:
                future.result()
    with serving(database_url, workers=1) as (base, _):  # restarted: what survived is all
        assert httpx.get(base + "/readyz").status_code == 200
        loops = [row.id for row in Loop.select(Loop.id).where(Loop.id > before)]
    counts = rounds_per_loop(loops)
    print(f"\nkill -9 loop burst: {BURST} requests, {len(acknowledged)} acknowledged, "
          f"{len(loops)} loops committed, rounds per loop {Counter(counts.values())}")
    assert set(acknowledged) <= set(loops)
    assert len(acknowledged) >= BURST // 3
    assert all(counts.get(loop_id) == 3 for loop_id in loops), counts
