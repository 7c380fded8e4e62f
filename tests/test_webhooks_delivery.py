"""Delivery with real parts: a receiver on loopback, real HTTP, signatures verified as a
receiver would; the clock and the schedule are ours, so retries take milliseconds."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import httpx
import pytest
import standardwebhooks

from db import outbox
from db.webhooks import Delivery, Webhook
from handlers.outbound.delivery import Deliverer, HttpSender
from handlers.platform.settings import DEFAULT_SCHEDULE
from tests.helpers.booking import book, bring_to, interview_body
from tests.helpers.servers import serving
from tests.helpers.webhooks import subscribe
from tests.webhook_receiver import Receiver, free_port

pytestmark = pytest.mark.usefixtures("no_webhooks")  # deliveries are only the test's own

SCHEDULE = (1, 2, 4)  # four attempts in all


class Clock:
    """Real time when first read (after what the test enqueued), then only moved by hand."""

    def __init__(self) -> None:
        self.started: datetime | None = None

    @property
    def now(self) -> datetime:
        if self.started is None:
            self.started = datetime.now(UTC) + timedelta(milliseconds=100)
        return self.started

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.started = self.now + timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def deliver(clock: Clock, sender=None, **options) -> None:
    """Run a deliverer until nothing is due at the clock's time."""
    deliverer = Deliverer(SCHEDULE, sender or HttpSender(allow_private=True), clock=clock,
                          rand=lambda: 0.5, **options)
    asyncio.run(asyncio.wait_for(deliverer.run(until_idle=True), 30))


def rows(hook_id: int) -> list[Delivery]:
    from db.models import database

    with database.connection_context():
        return list(Delivery.select().where(Delivery.webhook == hook_id).order_by(Delivery.id))


def test_signed_events_arrive_and_verify(client, people, clock):
    with Receiver() as receiver:
        hook = subscribe(client, people, people.driver, url=receiver.url)
        interview = bring_to(client, people, book(client, people), "confirmed")
        deliver(clock)
        bodies = sorted(receiver.verified(hook["secret"]), key=lambda b: b["sequence"])
    # sent concurrently, they may arrive in any order: `sequence` orders them
    assert [b["type"] for b in bodies] == ["interview.created", "interview.confirmed"]
    assert bodies[1]["data"]["interview"]["id"] == interview["id"]
    assert bodies[1]["sequence"] == 2
    assert {h["webhook-id"] for h, _, _ in receiver.requests} == {b["id"] for b in bodies}
    assert all(h["content-type"] == "application/json" for h, _, _ in receiver.requests)
    assert all(r.status == "delivered" and r.attempts == 1 and r.last_status_code == 200
               for r in rows(hook["id"]))
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(subscribe(client, people, people.driver)["secret"]).verify(
            receiver.requests[0][1], receiver.requests[0][0])


def test_down_then_500_then_recovered_every_event_arrives(client, people, clock):
    port = free_port()
    receiver = Receiver(port=port, answer=lambda n: 500 if n < 3 else 200)
    hook = subscribe(client, people, people.coordinator, url=receiver.url)
    for _ in range(3):
        book(client, people)
    deliver(clock)  # attempt 1: nobody listens
    assert [(r.attempts, r.status, r.last_status_code)
            for r in rows(hook["id"])] == [(1, "pending", None)] * 3
    assert all("Cannot connect to host 127.0.0.1" in r.last_error for r in rows(hook["id"]))
    with receiver:
        clock.advance(0.5)
        deliver(clock)  # not due yet (1 s ± 10 %)
        assert receiver.requests == []
        clock.advance(0.6)
        deliver(clock)  # attempt 2: 500 for each
        assert [(r.attempts, r.last_status_code) for r in rows(hook["id"])] == [(2, 500)] * 3
        clock.advance(2.1)
        deliver(clock)  # attempt 3: 200
        bodies = receiver.verified(hook["secret"])
    assert len(receiver.requests) == 6
    assert [(r.attempts, r.status, r.last_status_code)
            for r in rows(hook["id"])] == [(3, "delivered", 200)] * 3
    assert len({b["id"] for b in bodies}) == 3


def test_after_the_last_attempt_it_is_failed(client, people, clock):
    with Receiver(answer=lambda n: 503) as receiver:
        hook = subscribe(client, people, people.coordinator, url=receiver.url)
        book(client, people)
        for delay in (0, *SCHEDULE):
            clock.advance(delay * 1.1)
            deliver(clock)
    assert len(receiver.requests) == 4
    [row] = rows(hook["id"])
    assert (row.status, row.attempts, row.last_status_code, row.next_attempt_at) == (
        "failed", 4, 503, None)


def test_gone_disables_the_webhook(client, people, clock):
    with Receiver(answer=lambda n: 410) as receiver:
        hook = subscribe(client, people, people.coordinator, url=receiver.url)
        book(client, people)
        deliver(clock)
        book(client, people)
        clock.advance(10)
        deliver(clock)
    assert len(receiver.requests) == 1
    assert [r.status for r in rows(hook["id"])] == ["failed"]
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=people.auth(people.coordinator))
    assert shown.json()["webhook"]["enabled"] is False


def test_redirects_are_not_followed(client, people, clock):
    with Receiver(answer=lambda n: (302, {"Location": "/elsewhere"}, b"")) as receiver:
        hook = subscribe(client, people, people.coordinator, url=receiver.url)
        book(client, people)
        deliver(clock)
    assert [h[1] for h in receiver.requests] and len(receiver.requests) == 1
    [row] = rows(hook["id"])
    assert (row.status, row.last_status_code, row.attempts) == ("pending", 302, 1)


def test_ping_and_manual_retry(client, people, clock):
    with Receiver(answer=lambda n: 500 if n == 0 else 200) as receiver:
        hook = subscribe(client, people, people.interviewer, url=receiver.url)
        base, auth = f"/api/v1/webhooks/{hook['id']}", people.auth(people.interviewer)
        ping = client.post(base + "/ping", headers=auth)
        assert ping.status_code == 202 and ping.json()["delivery"]["type"] == "webhook.ping"
        deliver(clock)
        [logged] = client.get(base + "/deliveries", headers=auth).json()["deliveries"]
        assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
            "pending", 1, 500)
        retried = client.post(f"{base}/deliveries/{logged['id']}/retry", headers=auth)
        assert retried.status_code == 202
        deliver(clock)  # due now, not after the schedule's delay
        bodies = receiver.verified(hook["secret"])
    assert [b["type"] for b in bodies] == ["webhook.ping", "webhook.ping"]
    assert receiver.requests[0][0]["webhook-id"] == receiver.requests[1][0]["webhook-id"]
    [logged] = client.get(base + "/deliveries", headers=auth).json()["deliveries"]
    assert (logged["status"], logged["attempts"]) == ("delivered", 2)
    retried = client.post(f"{base}/deliveries/{logged['id']}/retry", headers=auth)
    assert retried.json()["delivery"]["status"] == "pending"


def test_rotation_signs_with_both_secrets_for_a_day(client, people, clock):
    with Receiver() as receiver:
        hook = subscribe(client, people, people.driver, url=receiver.url)
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate_secret",
                              headers=people.auth(people.driver)).json()["webhook"]
        book(client, people)
        deliver(clock)
        assert receiver.verified(hook["secret"]) == receiver.verified(rotated["secret"])
    assert len(receiver.requests[0][0]["webhook-signature"].split(" ")) == 2
    from db.models import database

    with database.connection_context():
        row = Webhook.get_by_id(hook["id"])
    both = [rotated["secret"], hook["secret"]]
    assert row.signing_secrets(clock.now + timedelta(hours=23)) == both
    assert row.signing_secrets(clock.now + timedelta(hours=25)) == [rotated["secret"]]


def test_a_lease_keeps_others_off_until_it_runs_out(client, people, clock):
    from db.models import database

    hook = subscribe(client, people, people.coordinator)
    for _ in range(6):
        book(client, people)
    claimed: list[list[int]] = []

    def claim() -> None:
        with database.connection_context():
            claimed.append([c.id for c in outbox.claim(clock.now, limit=4)])

    workers = [threading.Thread(target=claim) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    taken = [i for batch in claimed for i in batch]
    assert len(taken) == 6 and len(set(taken)) == 6  # each delivery to one worker only
    with database.connection_context():
        assert outbox.claim(clock.now + timedelta(seconds=20)) == []
        # the workers died without recording anything: within 30 s another takes them all
        again = outbox.claim(clock.now + timedelta(seconds=26), limit=10)
    assert sorted(c.id for c in again) == sorted(taken)
    assert {r.webhook_id for r in rows(hook["id"])} == {hook["id"]}


def send(sender: HttpSender, *requests: tuple[str, dict, bytes]) -> list:
    """Each request sent in turn by `sender` in one event loop; then its connections closed."""
    async def run() -> list:
        try:
            return [await sender(*request) for request in requests]
        finally:
            await sender.aclose()
    return asyncio.run(run())


def test_a_slow_receiver_times_out(clock):
    with Receiver(delay=2) as receiver:
        [outcome] = send(HttpSender(allow_private=True, timeout=0.3), (receiver.url, {}, b"{}"))
    assert outcome.status_code is None and "timeout" in outcome.error


def test_at_most_a_few_kib_of_an_answer_is_read(clock):
    big = b"x" * (64 * 1024 * 1024)
    with Receiver(answer=lambda n: (200, {}, big)) as receiver:
        [outcome] = send(HttpSender(allow_private=True), (receiver.url, {}, b"{}"))
    assert outcome.ok


def resolver_to(*addresses: str):
    async def resolve(host: str, port: int):
        return [ipaddress.ip_address(a) for a in addresses]
    return resolve


def test_production_refuses_a_name_resolving_to_loopback_at_delivery(clock):
    with Receiver() as receiver:
        sender = HttpSender(allow_private=False, resolver=resolver_to("127.0.0.1"))
        outcome, plain = send(sender, (f"https://receiver.test:{receiver.port}/hook", {}, b"{}"),
                              (receiver.url, {}, b"{}"))
    assert outcome.status_code is None and "127.0.0.1" in outcome.error
    assert plain.status_code is None and "https" in plain.error
    assert receiver.requests == []


def test_production_connects_to_the_checked_address_with_the_name_kept():
    sender = HttpSender(allow_private=False, resolver=resolver_to("93.184.216.34"))
    target, headers, server_hostname = asyncio.run(
        sender.route("https://hooks.example.com:8443/in?x=1", {"webhook-id": "evt_1"}))
    assert target == "https://93.184.216.34:8443/in?x=1"
    assert headers == {"webhook-id": "evt_1", "host": "hooks.example.com:8443"}
    assert server_hostname == "hooks.example.com"  # SNI and the certificate's name


def test_the_sender_hands_aiohttp_the_checked_address_and_the_host():
    """What goes to the HTTP client, seen through aiohttp's tracing, which stops the request
    before any connection (nothing leaves the machine)."""
    seen: list = []

    class Stop(Exception):
        pass

    async def on_request_start(session, context, params) -> None:
        seen.append((str(params.url), params.headers.get("host")))
        raise Stop

    async def run():
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_request_start)
        sender = HttpSender(allow_private=False, resolver=resolver_to("93.184.216.34"),
                            session=aiohttp.ClientSession(trace_configs=[trace]))
        try:
            with pytest.raises(Stop):
                await sender("https://hooks.example.com:8443/in?x=1", {"webhook-id": "e"}, b"{}")
        finally:
            await sender.aclose()

    asyncio.run(run())
    assert seen == [("https://93.184.216.34:8443/in?x=1", "hooks.example.com:8443")]


def test_retry_delays_follow_the_schedule_with_jitter():
    assert outbox.retry_delay(1, SCHEDULE, rand=lambda: 0.0) == pytest.approx(0.9)
    assert outbox.retry_delay(3, SCHEDULE, rand=lambda: 1.0) == pytest.approx(4.4)
    assert outbox.retry_delay(4, SCHEDULE) is None
    assert len(DEFAULT_SCHEDULE) == 7 and DEFAULT_SCHEDULE[0] == 5


def test_the_schedule_comes_from_the_environment():
    from handlers.platform.settings import Settings, SettingsError

    settings = Settings.from_env({"INTERVIEWS_WEBHOOK_RETRY_SCHEDULE": "1,2,4",
                                  "INTERVIEWS_WEBHOOK_ALLOW_PRIVATE": "1"})
    assert settings.webhook_retry_schedule == (1.0, 2.0, 4.0) and settings.webhook_allow_private
    assert Settings.from_env({}).webhook_allow_private is False
    for bad in ("a,b", "1,,2", "-1", ",".join(["1"] * 21)):
        with pytest.raises(SettingsError):
            Settings.from_env({"INTERVIEWS_WEBHOOK_RETRY_SCHEDULE": bad})


def test_interviews_deliver_sends_what_is_due(client, people, database_url):
    import os
    import subprocess
    import sys

    with Receiver() as receiver:
        hook = subscribe(client, people, people.coordinator, url=receiver.url)
        book(client, people)
        env = {**os.environ, "INTERVIEWS_DATABASE_URL": database_url,
               "INTERVIEWS_WEBHOOK_ALLOW_PRIVATE": "1"}
        subprocess.run([sys.executable, "-m", "handlers.cli", "deliver", "--once"], env=env,
                       check=True, timeout=60)
        [body] = receiver.verified(hook["secret"])
    assert body["type"] == "interview.created"
    assert [r.status for r in rows(hook["id"])] == ["delivered"]


QUERY_SECRET = "query-secret-4f1c9e"  # a credential in a receiver's URL, as some receivers want
OUR_LOGGERS = ("interviews", "uvicorn.")  # our lines and the server's own (start, stop, access)


def our_lines(text: str) -> list[dict]:
    """Every line written: JSON from our loggers only, and no query secret in any."""
    assert QUERY_SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(line["logger"].startswith(OUR_LOGGERS) for line in lines), lines
    return lines


def test_a_secret_in_a_webhook_query_never_reaches_the_logs(client, people, database_url,
                                                            tmp_path):
    """Real deliveries, by `interviews serve` and by `interviews deliver`, at debug level where
    libraries say the most: the receiver gets its query; the logs never see it."""
    env = {"INTERVIEWS_WEBHOOK_ALLOW_PRIVATE": "1", "INTERVIEWS_LOG_LEVEL": "debug"}
    auth = people.auth(people.coordinator)
    with Receiver() as receiver:
        hook = subscribe(client, people, people.coordinator,
                         url=f"{receiver.url}?token={QUERY_SECRET}")
        with (tmp_path / "serve.log").open("w+b") as log, serving(
                database_url, workers=1, env=env, stderr=log, options=("--access-log",)) as (
                base, _):
            assert httpx.post(base + "/api/v1/interviews", headers=auth,
                              json=interview_body(people)).status_code == 200
            httpx.get(f"{base}/api/v1/interviews?cursor={QUERY_SECRET}", headers=auth)
            deadline = time.monotonic() + 30
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            log.seek(0)
            served = our_lines(log.read().decode())
        book(client, people)
        deliver_env = {**os.environ, "INTERVIEWS_DATABASE_URL": database_url, **env}
        delivered = subprocess.run([sys.executable, "-m", "handlers.cli", "deliver", "--once"],
                                   env=deliver_env, capture_output=True, text=True, timeout=60,
                                   check=True)
        assert receiver.paths == [f"/hook?token={QUERY_SECRET}"] * 2
        receiver.verified(hook["secret"])
    our_lines(delivered.stderr)
    accessed = [line["event"] for line in served if line["logger"] == "uvicorn.access"]
    assert any('"GET /api/v1/interviews HTTP/1.1" 400' in event for event in accessed), accessed
