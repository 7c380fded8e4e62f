"""The reference booking page is served at /booking/, beside Swagger UI, with a policy that
lets it run only its own files and call only this origin; anything else is problem+json."""
from __future__ import annotations

import pytest

from handlers.platform.booking_page import DIRECTORY


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    page = client.get("/booking/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (DIRECTORY / "index.html").read_text()
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"  # ours, as on every answer
    for name in sorted(p.name for p in DIRECTORY.iterdir() if p.suffix in (".js", ".css")):
        asset = client.get(f"/booking/{name}")
        assert asset.status_code == 200 and asset.content == (DIRECTORY / name).read_bytes()


def test_booking_without_the_slash_redirects(client):
    moved = client.get("/booking", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/booking/"


@pytest.mark.parametrize("path", ["/booking/missing.js", "/booking/%2e%2e/booking_page.py",
                                  "/booking/..%2fbooking_page.py"])
def test_a_missing_file_is_a_404_problem(client, path):
    missing = client.get(path)
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "not_found"


def test_only_get_and_head_are_served(client):
    refused = client.post("/booking/", json={})
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
    assert refused.json()["code"] == "method_not_allowed"
    assert client.head("/booking/").status_code == 200
