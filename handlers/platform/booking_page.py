"""The reference booking page (static HTML, CSS and JavaScript in ./booking/), at /booking/.

Served by Starlette's StaticFiles, beside Swagger UI, on the API's own origin: the page calls
only the public API, so it needs no CORS. Its Content-Security-Policy allows scripts, styles
and calls from this origin only (no inline script), and pictures from anywhere (people's
`image` URLs).
"""
from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.platform.problems import send_problem

PREFIX = "/booking"
DIRECTORY = Path(__file__).resolve().parent / "booking"
POLICY = (b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
          b"img-src 'self' https: data:; form-action 'none'; base-uri 'none'; "
          b"frame-ancestors 'self'")


class BookingPageMiddleware:
    """GET and HEAD of /booking/... answered from the page's files (anything else 405, a
    missing file 404, as problem+json); /booking redirects."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.files = StaticFiles(directory=DIRECTORY, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send_problem(send, 405, f"{path} is a static page: GET or HEAD",
                               headers={"Allow": "GET, HEAD"})
            return
        if path == PREFIX:
            await RedirectResponse(PREFIX + "/", status_code=308)(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", POLICY)]
            await send(message)

        inner = {**scope, "path": path[len(PREFIX):], "root_path": ""}
        try:
            await self.files(inner, receive, with_policy)
        except HTTPException as error:  # raised before anything was sent
            await send_problem(send, error.status_code, f"no file {path} on the booking page")
