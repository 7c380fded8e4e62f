"""CORS as DESIGN.md "Browser clients" says, through the whole app (the browser test is
tests/test_browser.py)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from handlers.platform.app import create_app
from handlers.platform.cors import ALLOW_HEADERS, EXPOSE_HEADERS, allowed_origins
from handlers.platform.headers import STATIC_HEADERS
from handlers.platform.settings import Settings, SettingsError
from tests.helpers.booking import interview_body
from tests.helpers.people import People

FRONT = "https://front.example"
OTHER = "https://evil.example"


@pytest.fixture(scope="module")
def cors_client(app, settings):
    application = create_app(replace(settings, cors_origins=(FRONT, "http://127.0.0.1:5173")))
    with application.test_client() as test_client:
        yield test_client


def preflight(client, origin: str, method: str = "POST",
              headers: str = "authorization, content-type, idempotency-key"):
    return client.options("/api/v1/interviews", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


def test_preflight_from_an_allowed_origin_needs_no_token(cors_client):
    response = preflight(cors_client, FRONT,
                         headers=", ".join(h.lower() for h in ALLOW_HEADERS))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT
    assert "Origin" in response.headers["vary"]
    allowed = {h.strip().lower()
               for h in response.headers["access-control-allow-headers"].split(",")}
    assert {h.lower() for h in ALLOW_HEADERS} <= allowed
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens only
    for name, value in STATIC_HEADERS:  # security headers on preflights too
        assert response.headers[name] == value
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("origin, method, headers", [
    (OTHER, "POST", "authorization"),            # origin not listed
    ("https://front.example.evil", "POST", "authorization"),  # exact origins only
    (FRONT, "POST", "authorization, cookie"),    # a header clients do not send
])
def test_preflight_refused(cors_client, origin, method, headers):
    response = preflight(cors_client, origin, method, headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "cors_refused"
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_actual_response_exposes_the_headers_clients_read(cors_client, people: People):
    response = cors_client.post("/api/v1/interviews", json=interview_body(people),
                                headers={**people.auth(people.coordinator), "Origin": FRONT})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == FRONT
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert exposed == set(EXPOSE_HEADERS)
    assert response.headers["location"] and response.headers["etag"]
    assert "Origin" in [v.strip() for v in response.headers["vary"].split(",")]


def test_errors_carry_cors_headers_too(cors_client):
    """A browser can read a 401's problem body only if the error answer allows its origin."""
    response = cors_client.get("/api/v1/me", headers={"Origin": FRONT})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == FRONT


def test_disallowed_origin_gets_no_allow_origin(cors_client):
    response = cors_client.get("/healthz", headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in response.headers
    assert "Origin" in response.headers["vary"]


def test_vary_origin_without_an_origin(cors_client):
    assert "Origin" in cors_client.get("/healthz").headers["vary"]


def test_production_without_origins_allows_none(client):
    """The session app: production, INTERVIEWS_CORS_ORIGINS unset."""
    response = preflight(client, FRONT)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in client.get(
        "/healthz", headers={"Origin": FRONT}).headers


def test_origin_defaults():
    assert allowed_origins(None, production=False) == ("*",)
    assert allowed_origins(None, production=True) == ()
    assert allowed_origins((FRONT,), production=False) == (FRONT,)


def test_origins_from_the_environment():
    env = {"INTERVIEWS_CORS_ORIGINS": f"{FRONT}, http://localhost:3000"}
    assert Settings.from_env(env).cors_origins == (FRONT, "http://localhost:3000")
    assert Settings.from_env({}).cors_origins is None
    for bad in ("*", "https://front.example/", "front.example", "https://*.example"):
        with pytest.raises(SettingsError, match="INTERVIEWS_CORS_ORIGINS"):
            Settings.from_env({"INTERVIEWS_CORS_ORIGINS": bad})


@pytest.mark.parametrize("given", [
    [],
    [(b"content-type", b"application/json")],
    [(b"vary", b"Authorization"), (b"etag", b'"1"')],
    [(b"Vary", b"Accept"), (b"etag", b'"1"'), (b"vary", b"Authorization")],
])
def test_vary_origin_fast_path_is_starlettes(given):
    """Without an Origin, CorsMiddleware adds Vary as Starlette's CORSMiddleware.send does."""
    from starlette.datastructures import MutableHeaders

    from handlers.platform.cors import with_vary_origin

    message = {"type": "http.response.start", "headers": list(given)}
    headers = MutableHeaders(scope=message)
    headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
    assert with_vary_origin(given) == message["headers"]
