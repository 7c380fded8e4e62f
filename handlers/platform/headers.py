"""ASGI middleware that shapes every response, errors included."""
from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = re.compile(r"[A-Za-z0-9._:@\-]{1,200}")
# The documented endpoint's response headers (a Rails app's defaults).
STATIC_HEADERS = [
    ("x-frame-options", "SAMEORIGIN"),
    ("x-xss-protection", "0"),
    ("x-content-type-options", "nosniff"),
    ("x-permitted-cross-domain-policies", "none"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cache-control", "max-age=0, private, must-revalidate"),
]
RAW_STATIC = [(name.encode(), value.encode()) for name, value in STATIC_HEADERS]
REPLACED = frozenset({b"x-request-id", b"x-runtime"})
# The documented endpoint's `vary: Accept, Origin`, on every response.
VARY = (b"Accept", b"Origin")
# The documented endpoint's exact types; added after response validation, which matches
# media types without parameters.
CHARSETS = {b"application/json": b"application/json; charset=utf-8",
            b"text/calendar": b"text/calendar; charset=utf-8"}


def vary(values: list[bytes]) -> bytes:
    """One Vary value: Accept and Origin, then each other name the response varies on, once."""
    out = list(VARY)
    seen = {name.lower() for name in out}
    for value in values:
        for name in value.split(b","):
            name = name.strip()
            if name and name.lower() not in seen:
                seen.add(name.lower())
                out.append(name)
    return b", ".join(out)


def shaped(headers, request_id: bytes, runtime: bytes) -> list[tuple[bytes, bytes]]:
    """The response's raw headers with ours: static ones the response has not set, one Vary
    (see `vary`), the request id and runtime (replacing any), a charset on JSON and calendars.
    One pass over the list (Starlette's MutableHeaders scans it again for every header set)."""
    out: list[tuple[bytes, bytes]] = []
    present = set()
    varies: list[bytes] = []
    typed = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in REPLACED:
            continue
        if lowered == b"vary":
            varies.append(value)
            continue
        if lowered == b"content-type":
            if typed:
                continue
            typed = True
            value = CHARSETS.get(value, value)
        present.add(lowered)
        out.append((name, value))
    for name, value in RAW_STATIC:
        if name not in present:
            out.append((name, value))
    out.append((b"vary", vary(varies)))
    out.append((b"x-request-id", request_id))
    out.append((b"x-runtime", runtime))
    return out


class ResponseHeadersMiddleware:
    """Request id, runtime, Vary and security headers on every response (limits:
    handlers.platform.limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if REQUEST_ID.fullmatch(candidate):
                    request_id = candidate
        request_id = request_id or str(uuid.uuid4())
        scope.setdefault("extensions", {})["request_id"] = request_id  # for the request log

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = shaped(message.get("headers", ()), request_id.encode(),
                                            f"{time.perf_counter() - started:.6f}".encode())
            await send(message)

        await self.app(scope, receive, send_with_headers)
