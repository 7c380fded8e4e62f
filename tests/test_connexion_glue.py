"""The Connexion 3.3.0 adaptations in handlers/validation.py: pinned, active, and answering
exactly as stock Connexion does (stock, with every patch taken out, is the oracle)."""
from __future__ import annotations

from importlib.metadata import version

import pytest
from connexion import utils as connexion_utils
from connexion.datastructures import MediaTypeDict
from connexion.decorators.main import BaseDecorator
from connexion.jsonifier import Jsonifier
from connexion.middleware import request_validation, response_validation, swagger_ui

from handlers.platform import connexion_glue as validation
from handlers.wire import present
from tests.helpers.booking import book, interview_body

VOLATILE = {"x-request-id", "x-runtime", "date"}


def test_written_against_connexion_3_3_0():
    """An upgrade must re-check each patch against the new source: this test says when."""
    assert version("connexion") == validation.CONNEXION_VERSION == "3.3.0"
    assert validation.install() is True


@pytest.mark.parametrize("name", list(validation.PATCHES))
def test_each_patch_is_installed(app, name):
    owner, attr, replacement = validation.PATCHES[name]
    assert owner.__dict__[attr] is replacement
    assert validation.STOCK[name] is not replacement


@pytest.fixture
def stock(monkeypatch):
    """Switch every adaptation off: Connexion as shipped (our validator_map stays)."""

    def switch() -> None:
        for name, (owner, attr, _) in validation.PATCHES.items():
            monkeypatch.setattr(owner, attr, validation.STOCK[name])
        monkeypatch.setattr(validation.RememberingJsonifier, "dumps", Jsonifier.dumps)

    return switch


def answer(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, headers, response.content


def requests(client, people) -> list:
    """Successes and refusals of each kind the pipeline decides."""
    auth = people.auth(people.coordinator)
    row = book(client, people)
    bad = interview_body(people)
    bad["interview"]["kind"] = "carrier_pigeon"
    return [
        lambda: client.get(f"/api/v1/interviews/{row['id']}", headers=auth),
        lambda: client.get("/api/v1/interviews?limit=3", headers=auth),
        lambda: client.get("/api/v1/interviews?limit=0", headers=auth),  # parameter 400
        lambda: client.get("/api/v1/interviews?colour=red", headers=auth),  # strict 400
        lambda: client.get("/api/v1/interviews/abc", headers=auth),
        lambda: client.get("/api/v1/interviews/1"),  # no token: 401
        lambda: client.post("/api/v1/interviews", json=bad, headers=auth),  # body 400
        lambda: client.post("/api/v1/interviews", content=b"<x/>", headers={
            **auth, "Content-Type": "application/xml"}),  # media type 415
        lambda: client.post("/api/v1/interviews", content=b"{", headers={
            **auth, "Content-Type": "application/json"}),  # malformed 400
    ]


def test_answers_are_those_of_stock_connexion(client, people, stock):
    calls = requests(client, people)
    ours = [answer(call()) for call in calls]
    stock()
    assert [answer(call()) for call in calls] == ours
    assert {status for status, _, _ in ours} >= {200, 400, 401, 404, 415}


@pytest.mark.parametrize("broken", [
    pytest.param(lambda d: d | {"status": "bogus"}, id="enum"),
    pytest.param(lambda d: d | {"surprise": 1}, id="additional-property"),
    pytest.param(lambda d: {k: v for k, v in d.items() if k != "kind"}, id="missing"),
    pytest.param(lambda d: d | {"allowed_actions": tuple(d["allowed_actions"])}, id="tuple"),
    pytest.param(lambda d: d | {"id": float(d["id"])}, id="float-id"),
])
def test_response_validation_fails_as_stock_does(client, people, stock, monkeypatch, broken):
    """Responses are checked as the object that was serialised; the verdict (and the 500's
    body when refused) is the one stock reaches by parsing the body back."""
    row = book(client, people)
    shaped = present.interview
    monkeypatch.setattr(present, "interview", lambda *args: broken(shaped(*args)))
    show = lambda: client.get(f"/api/v1/interviews/{row['id']}", headers=people.auth(people.coordinator))
    ours = answer(show())
    stock()
    assert answer(show()) == ours


def test_the_response_is_not_parsed_back(client, people, monkeypatch):
    row = book(client, people)
    parsed = []
    original = validation.JSONResponseBodyValidator._parse
    monkeypatch.setattr(validation.JSONResponseBodyValidator, "_parse",
                        lambda self, stream: parsed.append(1) or original(self, stream))
    response = client.get(f"/api/v1/interviews/{row['id']}", headers=people.auth(people.coordinator))
    assert response.status_code == 200 and parsed == []


def test_the_handler_is_decorated_once(client, people, monkeypatch):
    auth = people.auth(people.coordinator)
    row = book(client, people)
    client.get(f"/api/v1/interviews/{row['id']}", headers=auth)
    decorations = []
    original = BaseDecorator.decorate
    monkeypatch.setattr(BaseDecorator, "decorate",
                        lambda self, fn: decorations.append(fn) or original(self, fn))
    for _ in range(3):
        assert client.get(f"/api/v1/interviews/{row['id']}", headers=auth).status_code == 200
    assert decorations == []


def test_token_info_signature_is_inspected_once(client, people):
    auth = people.auth(people.coordinator)
    client.get("/api/v1/interviews?limit=1", headers=auth)
    before = validation.accepts_kwarg.cache_info()
    for _ in range(3):
        client.get("/api/v1/interviews?limit=1", headers=auth)
    after = validation.accepts_kwarg.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


def test_media_types_are_matched_once(client, people, monkeypatch):
    auth = people.auth(people.coordinator)
    client.post("/api/v1/interviews", json=interview_body(people), headers=auth)
    built = []

    class Counting(MediaTypeDict):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(request_validation, "MediaTypeDict", Counting)
    monkeypatch.setattr(response_validation, "MediaTypeDict", Counting)
    response = client.post("/api/v1/interviews", json=interview_body(people), headers=auth)
    assert response.status_code == 200 and built == []


UI_PATHS = ["/api/v1/ui", "/api/v1/ui/", "/api/v1/ui/index.html", "/api/v1/openapi.json",
            "/api/v1/openapi.json/", "/api/v1/openapi.yaml", "/api/v1/uix", "/api/v1", "/api/v1/",
            "/", "/nope", "/api/v1/interviews/1", "/api/v1/interviews/1/", "/healthz"]


def test_swagger_ui_is_served_as_stock_and_skipped_for_api_paths(client, people, stock, monkeypatch):
    calls = []

    class Counting:  # stock notes the scope for its router's default on every request
        def __init__(self, var):
            self.var = var

        def set(self, value):
            calls.append(value["path"])
            return self.var.set(value)

        def get(self):
            return self.var.get()

    monkeypatch.setattr(swagger_ui, "_original_scope", Counting(swagger_ui._original_scope))
    auth = people.auth(people.coordinator)
    fetch = lambda path: client.get(path, headers=auth, follow_redirects=False)
    assert fetch("/api/v1/interviews?limit=1").status_code == 200 and calls == []
    ours = [answer(fetch(path)) for path in UI_PATHS]
    stock()
    assert [answer(fetch(path)) for path in UI_PATHS] == ours
    assert "/api/v1/interviews/1" in calls, "stock passes API paths through its router"
    assert ours[UI_PATHS.index("/api/v1/openapi.json")][0] == 200


def test_another_connexion_version_gets_stock_behaviour_and_a_warning(app, monkeypatch):
    monkeypatch.setattr(validation, "version", lambda name: "3.4.0")
    for name, (owner, attr, _) in validation.PATCHES.items():
        monkeypatch.setattr(owner, attr, validation.STOCK[name])
    with pytest.warns(UserWarning, match="not 3.3.0"):
        assert validation.install() is False
    for name, (owner, attr, _) in validation.PATCHES.items():
        assert owner.__dict__[attr] is validation.STOCK[name]


CONTENT_TYPE_CASES = [
    [], {}, [(b"accept", b"*/*")], [(b"content-type", b"application/json")],
    [(b"Content-Type", b"text/plain; charset=latin-1"), (b"content-type", b"application/json")],
    [(b"x", b"1"), (b"CONTENT-TYPE", b"application/problem+json \xe9")],
    [(b"content-typ\xe9", b"x")], {"Content-Type": "application/json"}, {"x": "y"},
    [("content-type", "text/calendar")],
]


@pytest.mark.parametrize("headers", CONTENT_TYPE_CASES)
def test_content_type_is_found_as_stock_finds_it(headers):
    stock = validation.STOCK["content type found without typing generics"]
    assert validation.extract_content_type(headers) == stock(headers)


def test_content_type_lookup_is_ours_on_every_path(client, people, monkeypatch):
    """Request validation, the response decorator and response validation all reach it."""
    calls = []
    real = validation.extract_content_type
    monkeypatch.setattr(connexion_utils, "extract_content_type",
                        lambda headers: calls.append(1) or real(headers))
    auth = people.auth(people.coordinator)
    assert client.post("/api/v1/interviews", json=interview_body(people),
                       headers=auth).status_code == 200
    assert len(calls) >= 3
