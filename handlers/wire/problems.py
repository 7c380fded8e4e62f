"""Problem details (RFC 9457): the one builder of every error body, and the HTTP status of
each domain error. Platform code (error handlers, middlewares, the server protocol) wraps
these bodies in its own kind of response."""
from __future__ import annotations

import json
from http import HTTPStatus

from db.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    Unavailable,
    Unworkable,
)

PROBLEM_JSON = "application/problem+json"
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}
# Most specific first: the first class an error is an instance of gives its status.
STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (Invalid, 422), (Unworkable, 422), (Forbidden, 403), (NotFound, 404), (Conflict, 409),
    (PreconditionFailed, 412), (Unavailable, 503), (DomainError, 400),
)


def status_of(error: DomainError) -> int:
    """The HTTP status a domain error is answered with (400 unless listed above)."""
    return next(status for kind, status in STATUSES if isinstance(error, kind))


def problem_body(status: int, detail: str, code: str | None = None, **extra: object) -> dict:
    """The problem document: type, title, status, detail, a machine-readable code, extras."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code or CODES.get(status, "error"),
        **extra,
    }


def problem_bytes(status: int, detail: str, code: str | None = None, **extra: object) -> bytes:
    return json.dumps(problem_body(status, detail, code, **extra)).encode()
