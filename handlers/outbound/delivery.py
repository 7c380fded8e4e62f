"""Delivery workers: send what the outbox holds, signed, off the request path.

A `Deliverer` claims due deliveries (database work in threads of its own), sends each with
its own small concurrency, and records the outcome. It runs in every `interviews serve`
worker process (woken as soon as a local request has committed deliveries, else polling)
and as `interviews deliver`. The clock, the random source of the jitter and the sender are
injectable, so retries and timeouts are tested in milliseconds.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import urlunsplit

import aiohttp
import anyio
import anyio.to_thread
from standardwebhooks import Webhook as Signer

from db import outbox
from db.outbox import Claimed, Outcome
from handlers.outbound import ssrf

TIMEOUT = 10.0  # seconds for a whole attempt: connect, send, answer
BATCH_SECONDS = 0.02  # how long a woken worker waits for more to record and claim at once
READ_CAP = 4096  # bytes of an answer read at most; the status is what counts
USER_AGENT = "interviews-webhooks/1"
log = logging.getLogger("interviews.delivery")

Sender = Callable[[str, dict[str, str], bytes], Awaitable[Outcome]]
# Called after every attempt with (outcome, seconds from enqueue to its outcome recorded):
# "delivered", "retrying", "failed" or "lost_lease". For metrics; see `on_attempt`.
_observers: list[Callable[[str, float], None]] = []


def on_attempt(observer: Callable[[str, float], None]) -> None:
    """Register a metrics hook: observer(outcome, lag_seconds) after every attempt."""
    _observers.append(observer)


def utc_now() -> datetime:
    return datetime.now(UTC)


def signed_headers(claimed: Claimed, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation, one signature per live secret."""
    signatures = " ".join(Signer(secret).sign(claimed.event_id, now, claimed.payload)
                          for secret in claimed.secrets)
    return {"webhook-id": claimed.event_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json",
            "user-agent": USER_AGENT}


class HttpSender:
    """POST with aiohttp: one pooled HTTP/1.1 client, no redirects followed, no proxies, at
    most READ_CAP bytes of an answer read.

    Unless private addresses are allowed, the host is resolved here, every address is
    checked, and the connection goes to the checked address (with the original Host header
    and TLS server name), so what was checked is what is connected to. The session is made
    on first use, in the event loop that sends; `aclose` ends it.
    """

    def __init__(self, allow_private: bool, resolver: ssrf.Resolver = ssrf.system_resolver,
                 session: aiohttp.ClientSession | None = None, timeout: float = TIMEOUT) -> None:
        self.allow_private, self.resolver, self.timeout = allow_private, resolver, timeout
        self.session = session

    async def __call__(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        try:
            target, headers, server_hostname = await self.route(url, headers)
        except ssrf.UnsafeUrl as refused:
            return Outcome(error=f"refused: {refused.detail}")
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32, limit_per_host=8),
                timeout=aiohttp.ClientTimeout(total=self.timeout), trust_env=False,
                auto_decompress=False, skip_auto_headers=("Accept-Encoding", "User-Agent"))
        try:
            async with self.session.post(target, data=body, headers=headers,
                                         allow_redirects=False,
                                         server_hostname=server_hostname) as response:
                await response.content.read(READ_CAP)
                if not 100 <= response.status <= 599:
                    return Outcome(error=f"not an HTTP status: {response.status}")
                return Outcome(status_code=response.status)
        except TimeoutError:
            return Outcome(error=f"timeout after {self.timeout:g} s")
        except aiohttp.ClientError as error:
            return Outcome(error=f"{type(error).__name__}: {error}"[:500])

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def route(self, url: str, headers: dict[str, str]
                    ) -> tuple[str, dict[str, str], str | None]:
        """Where to connect, with which headers and TLS server name: the URL itself, or the
        checked address with the Host header and the server name kept."""
        parts = ssrf.parse(url, self.allow_private)
        if self.allow_private:
            return url, headers, None
        address = (await ssrf.public_addresses(parts, self.resolver))[0]
        netloc = f"[{address}]" if address.version == 6 else str(address)
        if parts.port:
            netloc += f":{parts.port}"
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=netloc)), {**headers, "host": host}, parts.hostname


class Deliverer:
    """Claims, sends and records deliveries until stopped."""

    def __init__(self, schedule: Sequence[float], sender: Sender, *, concurrency: int = 8,
                 poll_seconds: float = 0.25, clock: Callable[[], datetime] = utc_now,
                 rand: Callable[[], float] = random.random) -> None:
        self.schedule, self.sender, self.concurrency = tuple(schedule), sender, concurrency
        self.poll_seconds, self.clock, self.rand = poll_seconds, clock, rand
        self.limiter = anyio.CapacityLimiter(2)  # database threads of its own, not the API's
        self.woken: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.in_flight: set[asyncio.Task] = set()
        self.attempted: list[tuple[Claimed, Outcome, datetime]] = []

    def wake(self) -> None:
        """Thread-safe: look for due deliveries now rather than at the next poll."""
        if self.loop is not None and self.woken is not None:
            self.loop.call_soon_threadsafe(self.woken.set)

    async def in_thread(self, function: Callable, *args: object):
        def run():
            with outbox.bookkeeping():
                return function(*args)

        return await anyio.to_thread.run_sync(run, limiter=self.limiter)

    async def attempt(self, claimed: Claimed) -> None:
        """Send one claimed delivery; its outcome is recorded with the next batch."""
        now = self.clock()
        try:
            outcome = await self.sender(claimed.url, signed_headers(claimed, now),
                                        claimed.payload.encode())
        except Exception as error:  # a sender bug must not lose the delivery's lease forever
            log.exception("webhook sender failed")
            outcome = Outcome(error=f"{type(error).__name__}: {error}"[:500])
        self.attempted.append((claimed, outcome, self.clock()))

    async def settle(self, limit: int) -> list[Claimed]:
        """Record what finished and claim up to `limit` more (one transaction)."""
        attempted, self.attempted = self.attempted, []
        if not attempted and limit <= 0:
            return []
        try:
            statuses, claimed = await self.in_thread(
                outbox.settle, attempted, self.clock(), limit, self.schedule, self.rand)
        except Exception:
            log.exception("recording or claiming deliveries failed; trying again")
            self.attempted[:0] = attempted
            return []
        now = self.clock()
        for item, status in statuses:
            lag = (now - item.created_at).total_seconds()
            for observer in _observers:
                observer("retrying" if status == "pending" else status, lag)
        return claimed

    async def run(self, stop: asyncio.Event | None = None, until_idle: bool = False) -> None:
        """Deliver until `stop` is set (or, with `until_idle`, until nothing is due or running)."""
        self.loop, self.woken = asyncio.get_running_loop(), asyncio.Event()
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                self.woken.clear()
                free = self.concurrency - len(self.in_flight)
                claimed = await self.settle(free)
                for item in claimed:
                    task = asyncio.create_task(self.attempt(item))
                    self.in_flight.add(task)
                    task.add_done_callback(self.finished)
                if until_idle and not claimed and not self.in_flight and not self.attempted:
                    return
                if len(claimed) < free or free <= 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.woken.wait(), self.poll_seconds)
                if self.woken.is_set() and not stop.is_set():
                    # Woken by a finished attempt or a new delivery: let a batch gather, so
                    # that one write transaction records and claims many (SQLite's one
                    # writer is the API's too).
                    await asyncio.sleep(BATCH_SECONDS)
        finally:
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=TIMEOUT + 5)
            await self.settle(0)
            close = getattr(self.sender, "aclose", None)  # an HttpSender's pooled connections
            if close is not None:
                await close()

    def finished(self, task: asyncio.Task) -> None:
        self.in_flight.discard(task)
        if self.woken is not None:
            self.woken.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery attempt failed", exc_info=task.exception())


def deliverer_for(settings) -> Deliverer:
    """The production deliverer for `settings`: real HTTP, real clock."""
    return Deliverer(settings.webhook_retry_schedule,
                     HttpSender(allow_private=settings.webhook_allow_private),
                     concurrency=settings.webhook_concurrency)
