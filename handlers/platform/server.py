"""uvicorn's httptools protocol with the limits it lacks, answering as the app does.

- The request line and headers may total `INTERVIEWS_MAX_HEADER_BYTES`; past that, 431
  problem+json and the connection is closed (stock uvicorn reads any size).
- They must arrive within `INTERVIEWS_HEADER_TIMEOUT_SECONDS` of the connection opening or
  of their first byte: else 408 problem+json (or, if nothing came, the connection is
  simply closed). Idle keep-alive connections close after uvicorn's 5 s as before.
- A request the parser refuses (malformed request line or header) is 400 problem+json
  with the security headers, not uvicorn's text/plain.

It leans on uvicorn's private HttpToolsProtocol (its callbacks, `loop`, `transport`, `cycle`,
`server_state`, STATUS_LINE): pyproject.toml holds uvicorn to the versions that was checked
in, and tests/test_pinned_internals.py names what changed when an upgrade breaks it.
"""
from __future__ import annotations

import asyncio
import uuid

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from handlers.platform.headers import STATIC_HEADERS
from handlers.platform.problems import problem, response_head
from handlers.platform.settings import process_settings

LINGER_SECONDS = 2


class Protocol(HttpToolsProtocol):
    """One per connection; see the module's docstring."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        settings = process_settings()
        self.max_head = settings.max_header_bytes
        self.head_seconds = settings.header_timeout_seconds
        self.head_bytes = 0
        self.in_head = False  # a request's first byte came, its headers are not complete
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False
        self.arm_head_timer()

    def arm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.head_timer = self.loop.call_later(self.head_seconds, self.head_timeout)

    def head_timeout(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.in_head:
            self.refuse(408, "request_timeout", f"the request line and headers did not arrive "
                        f"within {self.head_seconds} seconds")
        elif self.cycle is None:  # connected and sent nothing
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:  # answered and closing: what still comes is read and dropped
            return
        was_in_head = self.in_head
        super().data_received(data)
        if not self.in_head or self.transport.is_closing():
            return
        # httptools buffers a header it has not finished: bound the head before it grows.
        # (A head that ends within the chunk it began in is measured by handlers.platform.limits.)
        self.head_bytes = self.head_bytes + len(data) if was_in_head else len(data)
        if self.head_bytes > self.max_head:
            self.refuse(431, "headers_too_large",
                        f"the request line and headers are over {self.max_head} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.arm_head_timer()

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to what the parser refused, as problem+json."""
        self.refuse(400, "bad_request", f"malformed HTTP request: {msg}")

    def refuse(self, status: int, code: str, detail: str) -> None:
        """Answer `status` (unless a response is under way) and close the connection.

        The close lingers: the client may still be sending what we refused, and closing a
        socket with unread data resets the connection, which can destroy our answer.
        """
        if self.refused:
            return
        self.refused = True
        if self.head_timer is not None:
            self.head_timer.cancel()
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        response = problem(status, detail, code, {"Connection": "close"})
        head = [*response_head(response), *self.server_state.default_headers,
                *((name.encode(), value.encode()) for name, value in STATIC_HEADERS),
                (b"x-request-id", str(uuid.uuid4()).encode())]
        self.transport.write(b"".join(
            [STATUS_LINE[status], *(name + b": " + value + b"\r\n" for name, value in head),
             b"\r\n", response.body]))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
