"""A real browser (headless Chromium through Playwright) calls the API from other origins.

The page comes from a static server on another loopback port (another origin); it books an
interview with fetch() and reads ETag and Location, which only works when CORS lets it. A page
from an origin not listed is refused by the browser itself, and the server sees no request.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from db.models import Interview
from tests.helpers.booking import interview_body
from tests.helpers.browser import chromium  # noqa: F401 (the `browser` fixture)
from tests.helpers.people import People, make_interviewee
from tests.helpers.servers import serving

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>front end</title></head><body>
<script>
async function book(base, token, body) {
  try {
    const response = await fetch(base + "/api/v1/interviews", {
      method: "POST",
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                "Accept": "application/json"},
      body: JSON.stringify(body),
    });
    return {status: response.status, etag: response.headers.get("ETag"),
            location: response.headers.get("Location"),
            requestId: response.headers.get("X-Request-Id"), body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}
</script></body></html>
"""


@contextlib.contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """A static file server on its own loopback port: an origin of its own."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def book_from(browser, origin: str, base: str, token: str, body: dict) -> dict:
    page = browser.new_page()
    try:
        page.goto(origin + "/index.html")
        return page.evaluate("([base, token, body]) => book(base, token, body)",
                             [base, token, body])
    finally:
        page.close()


def test_a_page_from_an_allowed_origin_books_and_a_stranger_is_refused(
        browser, database_url, people: People, tmp_path, db):
    (tmp_path / "index.html").write_text(PAGE)
    log_path = tmp_path / "server.log"
    token = people.auth(people.coordinator)["Authorization"].removeprefix("Bearer ")
    refused_interviewee = make_interviewee(people.driver)
    with static_site(tmp_path) as front, static_site(tmp_path) as stranger, \
            open(log_path, "wb") as log_file, \
            serving(database_url, workers=1, env={"INTERVIEWS_CORS_ORIGINS": front},
                    stderr=log_file) as (base, _):
        booked = book_from(browser, front, base, token, interview_body(people))
        refused = book_from(browser, stranger, base, token,
                            interview_body(people, interviewee_id=refused_interviewee.id))

    assert "error" not in booked, booked
    assert booked["status"] == 200, booked
    created = booked["body"]["interview"]
    assert booked["location"] == f"/api/v1/interviews/{created['id']}"
    stored = Interview.get_by_id(created["id"])
    assert booked["etag"] == stored.etag and booked["etag"].startswith(f'"{created["id"]}-')
    assert booked["requestId"]
    assert stored.interviewee_id == people.interviewee.id

    assert refused == {"error": "TypeError: Failed to fetch"}
    assert not Interview.select().where(Interview.interviewee == refused_interviewee.id).exists()
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{") and '"event": "request"' in line]
    posts = [line for line in lines if line["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["status"] == 200  # the stranger's POST never left
    assert any(line["method"] == "OPTIONS" and line["status"] == 400 for line in lines)
