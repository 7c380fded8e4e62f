"""JSON logs, one line a request, and `ObserveMiddleware`: counts, times and logs every
request and answers `GET /metrics` (the metric objects: handlers/platform/metrics.py)."""
from __future__ import annotations

import hmac
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO

import structlog
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.platform.metrics import BOOKINGS, LATENCY, REQUESTS, exposition
from handlers.wire.problems import PROBLEM_JSON, problem_bytes

METRICS_PATH = "/metrics"

CREATE_OPERATIONS = frozenset({"createInterview", "createInterviewTrailingSlash"})
UNROUTED = "unrouted"  # no operation: preflights, unknown paths
METRICS_OPERATION = "metrics"
REQUEST_LOGGER = "interviews.request"
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestLog:
    """The request line: the JSON structlog would render (same keys, same order), without its
    processor chain per request. Written and flushed at once, like structlog's WriteLogger.
    `render` turns the fields into the line: JSON, or structlog's console renderer."""

    def __init__(self, stream: IO[str], enabled: bool,
                 render: Callable[[dict], str] = json.dumps) -> None:
        self.stream, self.enabled, self.render = stream, enabled, render
        self.lock = threading.Lock()

    def __call__(self, fields: dict) -> None:
        if not self.enabled:
            return
        fields["event"] = "request"
        fields["level"] = "info"
        fields["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = self.render(fields) + "\n"
        with self.lock:
            self.stream.write(line)
            self.stream.flush()


request_log = RequestLog(sys.stderr, True)  # replaced by configure_logging


# --- paths as logged ------------------------------------------------------------------------

SECRET_PATH = "/api/v1/calendar/feeds/"  # the rest of such a path is a bearer secret


def loggable_path(path: str) -> str:
    """The path as logged: a private calendar feed's token never reaches a log line."""
    return SECRET_PATH + "{token}.ics" if path.startswith(SECRET_PATH) else path


# --- logs ----------------------------------------------------------------------------------

# Loggers whose lines are ours: the service's and the server's (start, stop, opt-in access
# log). Any other library is heard from WARNING only: an HTTP client may log each webhook
# URL, query string included, at INFO; peewee each query's parameters at DEBUG; Connexion
# each refused token at INFO.
OWN_LOGGERS = ("interviews", "uvicorn.")


class OwnLines(logging.Filter):
    """Our lines at the configured level, other libraries' warnings and errors; no query
    string (nor a calendar feed token) in uvicorn's access lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(loggable_path(arg.split("?", 1)[0])
                                if isinstance(arg, str) and arg.startswith("/") else arg
                                for arg in record.args)
        return record.levelno >= logging.WARNING or record.name.startswith(OWN_LOGGERS)


def add_request_id(_logger: object, _name: str, event: dict) -> dict:
    """The id of the request being answered, on every line logged while answering it."""
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def configure_logging(level: str = "info", stream: IO[str] | None = None,
                      development: bool = False) -> None:
    """Our log records (and other libraries' warnings: see `OwnLines`) as one JSON line each
    on `stream` (stderr); in development, when `stream` is a terminal, as structlog's
    readable console lines instead (a pipe, a file or production: JSON).

    Idempotent: a second call replaces the handler. Records carry the request id of the
    request that logged them; tracebacks are text, never local variables. Request lines take
    a shorter path (`RequestLog`: straight to the stream, no stdlib record): they are the many.
    """
    global request_log
    stream = stream or sys.stderr
    readable = development and stream.isatty()
    shared = [
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    console = structlog.dev.ConsoleRenderer()  # renders tracebacks itself
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([console] if readable else [structlog.processors.format_exc_info,
                                          structlog.processors.JSONRenderer()]),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(OwnLines())
    handler.set_name("interviews-lines")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "interviews-lines"] + [handler]
    root.setLevel(level.upper())
    # OwnLines would drop them anyway; this way Connexion's per-request INFO records (each
    # refused token, each validation detail) are not even built.
    logging.getLogger("connexion").setLevel(max(root.level, logging.WARNING))
    render = (lambda fields: console(None, "info", fields)) if readable else json.dumps
    request_log = RequestLog(stream, root.level <= logging.INFO, render)


# --- middleware ----------------------------------------------------------------------------

class ObserveMiddleware:
    """Counts, times and logs every request; answers GET /metrics.

    Pure ASGI, placed inside `ResponseHeadersMiddleware` (whose request id it logs) and outside
    Connexion's routing, whose operationId it reads back from the shared `extensions` dict.
    """

    def __init__(self, app: ASGIApp, production: bool = False,
                 metrics_token: str | None = None) -> None:
        self.app = app
        self.production = production
        self.expected = f"Bearer {metrics_token}".encode() if metrics_token else None
        self.children: dict[tuple[str, int], tuple] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        extensions = scope.setdefault("extensions", {})
        request_id = extensions.get("request_id")
        status = 500
        replayed = False

        async def observed_send(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200:
                    replayed = (b"idempotent-replayed", b"true") in message.get("headers", ())
            await send(message)

        bound = REQUEST_ID.set(request_id)
        try:
            if scope["path"] == METRICS_PATH:
                extensions["connexion_routing"] = {"operation_id": METRICS_OPERATION}
                await self.metrics(scope, receive, observed_send)
            else:
                await self.app(scope, receive, observed_send)
        finally:
            self.record(scope, extensions, request_id, status, replayed,
                        time.perf_counter() - started)
            REQUEST_ID.reset(bound)

    def record(self, scope: Scope, extensions: dict, request_id: str | None, status: int,
               replayed: bool, seconds: float) -> None:
        operation = extensions.get("connexion_routing", {}).get("operation_id") or UNROUTED
        children = self.children.get((operation, status))
        if children is None:
            children = (REQUESTS.labels(operation, str(status)), LATENCY.labels(operation))
            self.children[(operation, status)] = children
        children[0].inc()
        children[1].observe(seconds)
        if operation in CREATE_OPERATIONS and status == 200 and not replayed:
            BOOKINGS.inc()
        request_log({
            "logger": REQUEST_LOGGER,
            "request_id": request_id,
            "operation_id": operation,
            "caller": extensions.get("connexion_context", {}).get("user"),
            "method": scope["method"],
            "path": loggable_path(scope["path"]),
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        })

    async def metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open in development; in production only with the metrics token (off without one)."""
        if scope["method"] not in ("GET", "HEAD"):
            await plain_problem(send, 405, "method_not_allowed", "only GET and HEAD",
                                [(b"allow", b"GET, HEAD")])
            return
        if self.production:
            if self.expected is None:
                await plain_problem(send, 404, "not_found", "no such resource")
                return
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await plain_problem(send, 401, "unauthorized", "the metrics token is required",
                                    [(b"www-authenticate", b'Bearer realm="metrics"')])
                return
        body = exposition()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})


async def plain_problem(send: Send, status: int, code: str, detail: str,
                        headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = problem_bytes(status, detail, code)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
