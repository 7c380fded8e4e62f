"""Every error becomes application/problem+json (RFC 9457), here and nowhere else."""
from __future__ import annotations

import json
import logging
import re

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from db.errors import DomainError
from handlers.platform.metrics import refused
from handlers.wire.problems import PROBLEM_JSON, problem_body, status_of

log = logging.getLogger("interviews")


def problem(status: int, detail: str, code: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> ConnexionResponse:
    """A problem+json response; `extra` members (errors, conflicts, ...) go in the body."""
    body = problem_body(status, detail, code, **extra)
    refused(status, body["code"])
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="interviews", error="invalid_token"'
    return ConnexionResponse(
        status_code=status, body=json.dumps(body).encode(), content_type=PROBLEM_JSON,
        headers=headers,
    )


def response_head(response: ConnexionResponse) -> list[tuple[bytes, bytes]]:
    """The headers of `response` as ASGI pairs, Content-Length included."""
    headers = {**response.headers, "Content-Length": str(len(response.body))}
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]


async def send_problem(send, status: int, detail: str, code: str | None = None,
                       headers: dict[str, str] | None = None) -> None:
    """Answer with a problem from ASGI middleware, where no error handler is reachable."""
    response = problem(status, detail, code, headers)
    await send({"type": "http.response.start", "status": status,
                "headers": response_head(response)})
    await send({"type": "http.response.body", "body": response.body})


class AllowedMethods:
    """The methods the spec documents for a concrete path, for a correct `Allow` header."""

    def __init__(self, spec_paths: dict) -> None:
        self.literal = {path: self.methods(item) for path, item in spec_paths.items()
                        if "{" not in path}
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), self.methods(item))
            for path, item in spec_paths.items()
        ]

    @staticmethod
    def methods(item: dict) -> set[str]:
        return {m.upper() for m in item if m in ("get", "post", "patch", "put", "delete")}

    def __call__(self, path: str) -> list[str]:
        """A path the spec names as it is (`/loops/search`) has its own methods only, not
        those of a template it also fits (`/loops/{id}`)."""
        methods: set[str] = set(self.literal.get(path, ()))
        for pattern, route_methods in self.routes if not methods else ():
            if pattern.match(path):
                methods |= route_methods
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)


def install(app, allowed_methods: AllowedMethods) -> None:
    """Register the handlers that turn every exception into problem+json."""

    async def on_domain_error(_request: ConnexionRequest, exc: DomainError) -> ConnexionResponse:
        return problem(status_of(exc), exc.detail, exc.code, **exc.extra)

    async def on_problem(_request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        ext = dict(exc.ext or {})
        code = ext.pop("code", None)
        if exc.status >= 500:
            log.error("server problem: %s", exc.detail)
        return problem(exc.status, str(exc.detail or exc.title), code, exc.headers, **ext)

    async def on_http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.url.path))
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        elif exc.status_code == 404:
            detail = "no such resource"
        else:
            detail = str(exc.detail)
        return problem(exc.status_code, detail, headers=headers)

    async def on_unexpected(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal error; the request id identifies it in the logs")

    app.add_error_handler(DomainError, on_domain_error)
    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http_exception)
    app.add_error_handler(Exception, on_unexpected)
