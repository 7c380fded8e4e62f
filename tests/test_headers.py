"""Headers every response carries, whoever answered it: operations, errors, 304s, preflights."""
from __future__ import annotations

from dataclasses import replace

import pytest

from handlers.platform.app import create_app
from handlers.platform.headers import vary
from tests.helpers.booking import book
from tests.helpers.people import People

FRONT = "https://front.example"


@pytest.fixture(scope="module")
def cors_client(app, settings):
    application = create_app(replace(settings, cors_origins=(FRONT,)))
    with application.test_client() as test_client:
        yield test_client


def names(response) -> list[str]:
    """The response's one Vary header, as names."""
    values = response.headers.get_list("vary")
    assert len(values) == 1, values
    return [name.strip() for name in values[0].split(",")]


def answers(client, people: People) -> dict[str, object]:
    interview = book(client, people)
    path = f"/api/v1/interviews/{interview['id']}"
    auth = people.auth(people.interviewer)
    etag = client.get(path, headers=auth).headers["etag"]
    preflight = {"Origin": FRONT, "Access-Control-Request-Method": "POST"}
    return {
        "show": client.get(path, headers=auth),
        "not modified": client.get(path, headers={**auth, "If-None-Match": etag}),
        "calendar": client.get(f"{path}/calendar", headers=auth),
        "list": client.get("/api/v1/interviews", headers=auth),
        "unauthenticated": client.get(path),
        "not found": client.get("/api/v1/nothing-here"),
        "invalid": client.get("/api/v1/interviews?limit=0", headers=auth),
        "from an origin": client.get(path, headers={**auth, "Origin": FRONT}),
        "preflight": client.options("/api/v1/interviews", headers=preflight),
        "refused preflight": client.options(
            "/api/v1/interviews", headers={**preflight, "Origin": "https://evil.example"}),
        "probe": client.get("/healthz"),
        "spec": client.get("/api/v1/openapi.json"),
    }


def test_every_response_varies_on_accept_and_origin(cors_client, people):
    """As the documented endpoint's `vary: Accept, Origin`; Authorization where the answer
    depends on who asks, all in one header."""
    varied = answers(cors_client, people)
    for what, response in varied.items():
        assert {"Accept", "Origin"} <= set(names(response)), what
    for what in ("show", "not modified", "calendar", "from an origin"):
        assert names(varied[what]) == ["Accept", "Origin", "Authorization"], what
    assert varied["not modified"].status_code == 304
    assert varied["preflight"].status_code == 200
    assert varied["refused preflight"].status_code == 400


def test_the_documented_vary_without_cors(client, people):
    """The session app allows no origin: still the documented header."""
    assert names(client.get("/healthz")) == ["Accept", "Origin"]
    assert names(client.get("/api/v1/me")) == ["Accept", "Origin"]


@pytest.mark.parametrize("given, expected", [
    ([], b"Accept, Origin"),
    ([b"Authorization"], b"Accept, Origin, Authorization"),
    ([b"Authorization, Origin", b"accept"], b"Accept, Origin, Authorization"),
    ([b"Origin, Access-Control-Request-Method"], b"Accept, Origin, Access-Control-Request-Method"),
    ([b" , Cookie,,"], b"Accept, Origin, Cookie"),
])
def test_vary_merges_into_one_value(given, expected):
    assert vary(given) == expected
