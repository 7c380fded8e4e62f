"""The spec as served at /api/v1/openapi.json and .yaml: the file as written, `$ref`s kept.

Connexion serves its resolved copy (every `$ref` inlined, so generated clients lose the named
types) with `servers` rewritten to the mount path, "" here, which leaves Swagger UI's server
list empty. This middleware answers those two paths itself, with a `servers` entry Swagger UI
can use: the root path the app is mounted at (`/` unless behind a path-altering proxy).
"""
from __future__ import annotations

import copy
import json

import yaml
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

SPEC_JSON = "/api/v1/openapi.json"
SPEC_YAML = "/api/v1/openapi.yaml"


def served(spec: dict, root_path: str) -> dict:
    """`spec` with one server: the URL the API is reachable at, relative to the page's host."""
    document = copy.deepcopy(spec)
    document["servers"] = [{"url": root_path.rstrip("/") + "/", "description": "This server"}]
    return document


class OpenAPIDocumentMiddleware:
    """Serves the written spec (not Connexion's resolved copy) with a usable `servers`."""

    def __init__(self, app: ASGIApp, spec: dict) -> None:
        self.app = app
        self.spec = spec
        self.rendered: dict[tuple[str, str], bytes] = {}  # (path, root_path) -> body

    def render(self, path: str, root_path: str) -> bytes:
        key = (path, root_path)
        if key not in self.rendered:
            document = served(self.spec, root_path)
            self.rendered[key] = (
                json.dumps(document, default=str) if path == SPEC_JSON
                else yaml.safe_dump(document, sort_keys=False)
            ).encode()
        return self.rendered[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path in (SPEC_JSON, SPEC_YAML) and scope["method"] in ("GET", "HEAD"):
            body = self.render(path, scope.get("root_path", ""))
            media_type = "application/json" if path == SPEC_JSON else "text/yaml"
            await Response(body, media_type=media_type)(scope, receive, send)
            return
        await self.app(scope, receive, send)
