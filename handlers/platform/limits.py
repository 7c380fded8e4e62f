"""Request limits, checked before anything else reads the request: header size, body size,
and how long a client may take to send its body. Pure ASGI; each refusal is problem+json.

The body (at most 64 KiB) is read here, within the time limit, and handed on with a
`Content-Length`: a chunked upload then reaches validation like any other (Connexion
treats a request without `Content-Length` as one without a body).
"""
from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.platform.problems import send_problem
from handlers.platform.settings import Settings

MAX_BODY_BYTES = 64 * 1024
CLOSE = {"Connection": "close"}  # the rest of an unread body must not be taken for a request


class BodyTooLarge(Exception):
    pass


def head_size(scope: Scope) -> int:
    """About the bytes of the request line and headers, as they came on the wire."""
    size = (len(scope["method"]) + len(scope.get("raw_path") or b"")
            + len(scope["query_string"]) + 12)
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
    return size


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, and whether the client went away first."""
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", True
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


class RequestLimitsMiddleware:
    """431 for headers over `max_header_bytes`, 413 for bodies over 64 KiB, 408 for a body
    not received within `body_timeout_seconds`."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_header_bytes = settings.max_header_bytes
        self.body_timeout = settings.body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if head_size(scope) > self.max_header_bytes:
            await send_problem(send, 431, f"the request line and headers are over "
                               f"{self.max_header_bytes} bytes", "headers_too_large", CLOSE)
            return
        length = chunked = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = value
        if length is None and chunked is None:  # no body at all
            await self.app(scope, receive, send)
            return
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            await too_large(send)
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body, gone = await read_body(receive)
        except BodyTooLarge:
            await too_large(send)
            return
        except TimeoutError:
            await send_problem(send, 408, f"the request body did not arrive within "
                               f"{self.body_timeout} seconds", "request_timeout", CLOSE)
            return
        if gone:
            return
        if length is None:  # chunked: from here on, a body of known length
            scope = {**scope, "headers": [
                *((n, v) for n, v in scope["headers"] if n != b"transfer-encoding"),
                (b"content-length", str(len(body)).encode()),
            ]}
        await self.app(scope, replay(body, receive), send)


async def too_large(send: Send) -> None:
    await send_problem(send, 413, f"the request body is over {MAX_BODY_BYTES} bytes",
                       "payload_too_large", CLOSE)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` once, then waits on the client (for its disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
