"""CORS for browser front ends: exact origins, bearer tokens only (never cookies)."""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from handlers.wire.problems import PROBLEM_JSON, problem_bytes

ALLOW_METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE")
ALLOW_HEADERS = ("Authorization", "Content-Type", "Accept", "Idempotency-Key", "If-Match",
                 "If-None-Match", "X-Request-Id")
EXPOSE_HEADERS = ("ETag", "Location", "Link", "X-Request-Id", "X-Runtime",
                  "Idempotent-Replayed", "Retry-After", "RateLimit-Policy", "RateLimit")


def allowed_origins(configured: tuple[str, ...] | None, production: bool) -> tuple[str, ...]:
    """INTERVIEWS_CORS_ORIGINS when set; otherwise any origin in development, none in production."""
    if configured is not None:
        return configured
    return () if production else ("*",)


def with_vary_origin(headers) -> list[tuple[bytes, bytes]]:
    """Starlette's `headers["Vary"] = ", ".join([*getlist("Vary"), "Origin"])` on raw headers:
    one Vary, where the first was (or last), holding every value and Origin."""
    out: list[tuple[bytes, bytes]] = []
    values: list[bytes] = []
    at = None
    for name, value in headers:
        if name == b"vary":  # lower-case, as Starlette writes and matches them
            if at is None:
                at = len(out)
                out.append((b"vary", b""))
            values.append(value)
        else:
            out.append((name, value))
    vary = (b"vary", b", ".join([*values, b"Origin"]))
    if at is None:
        out.append(vary)
    else:
        out[at] = vary
    return out


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like any 4xx."""

    def __init__(self, app, origins: tuple[str, ...]) -> None:
        super().__init__(app, allow_origins=origins, allow_methods=ALLOW_METHODS,
                         allow_headers=ALLOW_HEADERS, expose_headers=EXPOSE_HEADERS,
                         allow_credentials=False, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Without an Origin (most requests: servers, scripts) only `Vary: Origin` is added,
        as Starlette does, without building its Headers views of request and response."""
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def vary_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_vary_origin(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, vary_origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        detail = response.body.decode()  # "Disallowed CORS origin, headers"
        body = problem_bytes(400, f"{detail}: this origin, method or header is not allowed",
                             "cors_refused")
        # Nothing that could read as a permission: only Vary stays.
        headers = {"Vary": response.headers["vary"]}
        return Response(body, status_code=400, headers=headers, media_type=PROBLEM_JSON)
