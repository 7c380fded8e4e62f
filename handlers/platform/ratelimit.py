"""Rate limits per caller: the user a valid token names, else the client's address.

A fixed window of `INTERVIEWS_RATE_LIMIT` requests (the `limits` package), counted in Redis
when `INTERVIEWS_REDIS_URL` is set (shared by every worker and machine), in the process
otherwise. Every counted response carries the IETF draft's `RateLimit-Policy` and
`RateLimit` headers; over the limit, 429 problem+json with `Retry-After`. Probes, metrics
and the spec are not counted. If Redis does not answer, requests pass (and it is logged).
"""
from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.errors import StorageError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.platform import auth
from handlers.platform.problems import send_problem
from handlers.platform.settings import Settings

EXEMPT = ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json")
EXEMPT_PREFIXES = ("/api/v1/ui",)
MAX_REMEMBERED = 4096  # windows' ends, per process
SWEEP_AT = 4096  # in-process windows: sweep expired ones when the table reaches this (x2)
log = logging.getLogger("interviews")


class WindowCounts:
    """Fixed-window counters in this process: what `limits`' MemoryStorage does for `incr`
    and `get_expiry`, without the task it starts on every request to sweep every key (a
    cost per request growing with the number of callers). Expired windows are swept when
    the table has doubled since the last sweep: amortised O(1) per request, memory bounded
    by the callers of about one window."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.ends: dict[str, float] = {}
        self.sweep_at = SWEEP_AT

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if self.ends.get(key, 0.0) <= now:  # no window, or it is over: a new one
            self.counts[key] = amount
            self.ends[key] = now + expiry
            if len(self.counts) >= self.sweep_at:
                self.sweep(now)
            return amount
        self.counts[key] += amount
        return self.counts[key]

    async def get_expiry(self, key: str) -> float:
        return self.ends.get(key, time.time())

    def sweep(self, now: float) -> None:
        for key in [key for key, end in self.ends.items() if end <= now]:
            del self.counts[key], self.ends[key]
        self.sweep_at = max(SWEEP_AT, 2 * len(self.counts))


def storage_for(settings: Settings) -> Storage | WindowCounts:
    if not settings.redis_url:
        return WindowCounts()
    return RedisStorage(f"async+{settings.redis_url}", wrap_exceptions=True,
                        key_prefix=settings.rate_limit_prefix)


class RateLimitMiddleware:
    """Counts each request against its caller's window; refuses the ones over it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.item: RateLimitItem = parse(settings.rate_limit)
        self.window = self.item.get_expiry()
        self.storage = storage_for(settings)
        self.policy = f'"default";q={self.item.amount};w={self.window}'
        self.resets: dict[str, float] = {}

    async def reset_of(self, key: str, count: int) -> float:
        """When the window of `key` ends: asked of the store once per window and process
        (a count of 1 means the window began now), so a request costs one round trip."""
        now = time.time()
        reset = self.resets.get(key, 0.0)
        if count == 1 or reset <= now:
            if len(self.resets) >= MAX_REMEMBERED:
                kept = {k: v for k, v in self.resets.items() if v > now}
                self.resets = kept if len(kept) < MAX_REMEMBERED else {}
            if count == 1:
                reset = now + self.window
            else:
                reset = await self.storage.get_expiry(key)
            self.resets[key] = reset
        return reset

    def caller(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                # auth's cache of verified tokens: the bearer check asks it the same question
                user_id = auth.subject(value[7:].strip().decode("latin-1"), self.settings)
                if user_id is not None:
                    return f"user:{user_id}"
                break
        client = scope.get("client")
        return f"address:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = self.item.key_for(self.settings.rate_limit_prefix, self.caller(scope))
        try:
            count = await self.storage.incr(key, self.window)
            reset = await self.reset_of(key, count)
        except StorageError as error:  # the limiter's store is down: serve rather than refuse
            log.warning("rate limit store unavailable, request not counted: %r", error)
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(reset - time.time()))
        headers = {
            "RateLimit-Policy": self.policy,
            "RateLimit": f'"default";r={max(0, self.item.amount - count)};t={seconds}',
        }
        if count > self.item.amount:
            await send_problem(send, 429, f"over the rate limit of {self.item.amount} requests "
                               f"per {self.window} seconds; retry in {seconds} seconds",
                               "rate_limited", {**headers, "Retry-After": str(seconds)})
            return

        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":  # headers no inner layer sets
                message["headers"] = [*message.get("headers", ()), *raw]
            await send(message)

        await self.app(scope, receive, send_with_headers)
