"""ASGI middleware that shapes every response, errors included."""
from __future__ import annotations

import re
import time
import uuid

from starlette.datastructures import MutableHeaders
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


class ResponseHeaders:
    """Request id, runtime and security headers on every response (limits: handlers.limits)."""

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
                headers = MutableHeaders(scope=message)
                for name, value in STATIC_HEADERS:
                    if name not in headers:
                        headers[name] = value
                headers["x-request-id"] = request_id
                if headers.get("content-type") == "application/json":
                    # The documented endpoint's exact type; added after response validation,
                    # which matches media types without parameters.
                    headers["content-type"] = "application/json; charset=utf-8"
                elif headers.get("content-type") == "text/calendar":
                    headers["content-type"] = "text/calendar; charset=utf-8"
                headers["x-runtime"] = f"{time.perf_counter() - started:.6f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)
