"""CORS for browser front ends: exact origins, bearer tokens only (never cookies)."""
from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

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


class Cors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like any 4xx."""

    def __init__(self, app, origins: tuple[str, ...]) -> None:
        super().__init__(app, allow_origins=origins, allow_methods=ALLOW_METHODS,
                         allow_headers=ALLOW_HEADERS, expose_headers=EXPOSE_HEADERS,
                         allow_credentials=False, max_age=600)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        detail = response.body.decode()  # "Disallowed CORS origin, headers"
        body = {"type": "about:blank", "title": "Bad Request", "status": 400,
                "detail": f"{detail}: this origin, method or header is not allowed",
                "code": "cors_refused"}
        # Nothing that could read as a permission: only Vary stays.
        headers = {"Vary": response.headers["vary"]}
        return Response(json.dumps(body), status_code=400, headers=headers,
                        media_type="application/problem+json")
