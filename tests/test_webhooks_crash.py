"""`kill -9` of a serving process in the middle of a burst of changes: after a restart every
committed change reaches the receiver at least once, and no change that rolled back does."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from db.models import Event, Interview
from tests.helpers.booking import interview_body, slot
from tests.helpers.servers import serving
from tests.helpers.webhooks import subscribe
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.usefixtures("no_webhooks")  # deliveries are only the test's own

BURST = 40


def committed_event_ids(interviewee_id: int) -> set[str]:
    from db.models import database

    with database.connection_context():
        query = (Event.select(Event.id).join(Interview)
                 .where(Interview.interviewee == interviewee_id))
        return {f"evt_{row.id}" for row in query}


def test_kill_9_mid_burst_loses_no_committed_event(client, people, database_url, monkeypatch):
    monkeypatch.setenv("INTERVIEWS_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("INTERVIEWS_WEBHOOK_RETRY_SCHEDULE", "0.2,0.5,1,2,4")
    auth = people.auth(people.coordinator)
    acknowledged: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()
    with Receiver() as receiver:
        hook = subscribe(client, people, people.coordinator, url=receiver.url)
        with serving(database_url, workers=1) as (base, process):
            taken = slot()

            def change(n: int) -> None:
                # every fifth asks for a slot already booked: refused, rolled back, no event
                start, end = taken if n % 5 == 4 else slot()
                try:
                    response = httpx.post(base + "/api/v1/interviews", headers=auth, timeout=10,
                                          json=interview_body(people, start, end))
                except httpx.HTTPError:
                    return  # the server died under this request: committed or not, we check
                with lock:
                    (acknowledged if response.status_code == 200 else refused).append(
                        response.status_code)

            with ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(change, n) for n in range(BURST)]
                deadline = time.monotonic() + 60
                # Kill once a third is acknowledged and a refusal has come back (the first
                # request for `taken` may win it, so the second is the first refused).
                while (len(acknowledged) < BURST // 3 or not refused) and \
                        time.monotonic() < deadline:
                    time.sleep(0.01)
                process.kill()  # SIGKILL: no shutdown, leases and in-flight requests left behind
                for future in futures:
                    future.result()
        committed = committed_event_ids(people.interviewee.id)
        assert len(committed) >= len(acknowledged) >= BURST // 3
        assert 409 in refused
        with serving(database_url, workers=1):
            deadline = time.monotonic() + 60  # a lease left by the dead worker runs out in 25 s
            while time.monotonic() < deadline:
                if committed <= {h["webhook-id"] for h, _, _ in receiver.requests}:
                    break
                time.sleep(0.2)
        bodies = receiver.verified(hook["secret"])
    received = [b["id"] for b in bodies]
    lost = committed - set(received)
    print(f"\nkill -9 burst: {BURST} requests, {len(acknowledged)} acknowledged, "
          f"{len(refused)} refused, {len(committed)} committed events, {len(received)} received, "
          f"{len(received) - len(set(received))} duplicates, {len(lost)} lost")
    assert not lost
    assert set(received) <= committed  # nothing that rolled back (or never happened) arrived


def test_a_receiver_that_hangs_does_not_slow_the_api(client, people, database_url, monkeypatch):
    monkeypatch.setenv("INTERVIEWS_WEBHOOK_ALLOW_PRIVATE", "1")
    auth = people.auth(people.coordinator)
    with Receiver(delay=3) as receiver:  # every answer takes 3 s
        subscribe(client, people, people.coordinator, url=receiver.url)
        subscribe(client, people, people.coordinator, url=receiver.url)
        with serving(database_url, workers=1) as (base, _):
            began = time.monotonic()
            for _ in range(20):
                response = httpx.post(base + "/api/v1/interviews", headers=auth, timeout=10,
                                      json=interview_body(people))
                assert response.status_code == 200
            elapsed = time.monotonic() - began
            assert receiver.requests  # deliveries were under way meanwhile
    # 40 deliveries of 3 s each: in line with the requests that would be 2 minutes
    assert elapsed < 15
