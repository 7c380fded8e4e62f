"""The Connexion 3.3.0 adaptations in handlers/platform/connexion_glue.py: pinned, active, and
answering exactly as stock Connexion does (an app built with every adaptation left out, and the
one patch taken out, is the oracle)."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace
from functools import partial
from importlib.metadata import version
from types import FunctionType

import connexion
import pytest
from connexion import AsyncApp
from connexion import security as connexion_security
from connexion import utils as connexion_utils
from connexion.datastructures import MediaTypeDict
from connexion.decorators.main import BaseDecorator
from connexion.jsonifier import Jsonifier
from connexion.middleware import (
    MiddlewarePosition,
    request_validation,
    response_validation,
    swagger_ui,
)
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.security import SecurityMiddleware

from db.connection import open_database
from handlers.platform import connexion_glue as glue
from handlers.platform.app import create_app
from handlers.wire import present
from tests.helpers.booking import book, interview_body

VOLATILE = {"x-request-id", "x-runtime", "date"}


def test_written_against_connexion_3_3_0():
    """An upgrade must re-check each adaptation against the new source: this test says when."""
    assert version("connexion") == glue.CONNEXION_VERSION == "3.3.0"
    assert glue.install() is True


@pytest.mark.parametrize("name", list(glue.PATCHES))
def test_each_patch_is_installed(app, name):
    owner, attr, replacement = glue.PATCHES[name]
    assert owner.__dict__[attr] is replacement
    assert glue.STOCK[name] is not replacement


def rewritten_in_connexion() -> list[str]:
    """Every function or class attribute in Connexion's modules that is not Connexion's own."""
    found = []
    for info in pkgutil.walk_packages(connexion.__path__, "connexion."):
        if info.name.endswith("__main__"):  # runs the command line when imported
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra (Flask) not installed
            continue
        for name, value in vars(module).items():
            owners = [(f"{info.name}.{name}", value)]
            if type(value) is type and value.__module__ == info.name:
                owners += [(f"{info.name}.{name}.{attr}", member)
                           for attr, member in vars(value).items()]
            for where, member in owners:
                kind = type(member)  # not isinstance: the context's proxies cannot answer it
                if kind in (staticmethod, classmethod):
                    member = member.__func__
                elif kind is property:
                    member = member.fget
                if type(member) is FunctionType and member.__module__.startswith("handlers"):
                    found.append(where)
    return found


def test_one_process_wide_rewrite_is_left(app):
    assert rewritten_in_connexion() == ["connexion.apps.asynchronous.AsyncOperation.fn"]
    assert list(glue.PATCHES) == ["decorated handler once per operation"]


def built(app, cls: type):
    """The instance of middleware `cls` in `app`'s built stack."""
    return next(m for m in app.middleware.middleware_stack if type(m) is cls)


def only_api(middleware):
    (apis,) = [apis for apis in middleware.apis.values() if apis]
    return apis[0]


def test_the_app_runs_each_adaptation(app, client):
    client.get("/healthz")
    stack = [getattr(m, "func", m) for m in app.middleware.middlewares]
    for stock, ours in glue.OURS.items():
        assert ours in stack and stock not in stack and issubclass(ours, stock)
        assert built(app, ours)
    factory = only_api(built(app, SecurityMiddleware)).security_handler_factory
    assert factory.security_handlers["bearer"] is glue.BearerTokenHandler


def test_the_middleware_order_is_what_add_middleware_gave(settings):
    """The list handed to AsyncApp is the one `add_middleware(position=...)` built before."""
    ours = [getattr(m, "func", m) for m in create_app(
        replace(settings, rate_limit="5/second")).middleware.middlewares]
    from handlers.platform import (
        booking_page,
        cors,
        headers,
        limits,
        observability,
        openapi_document,
        ratelimit,
    )

    stock = AsyncApp(__name__)
    for middleware in (headers.ResponseHeadersMiddleware, observability.ObserveMiddleware,
                       booking_page.BookingPageMiddleware, cors.CorsMiddleware,
                       ratelimit.RateLimitMiddleware, limits.RequestLimitsMiddleware):
        stock.add_middleware(middleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    stock.add_middleware(openapi_document.OpenAPIDocumentMiddleware,
                         position=MiddlewarePosition.BEFORE_SWAGGER)
    expected = [glue.OURS.get(m, m) for m in
                (getattr(m, "func", m) for m in stock.middleware.middlewares)]
    assert ours == expected
    assert len(ConnexionMiddleware.default_middlewares) + 7 == len(ours)


@pytest.fixture(scope="module")
def stock_client(app, settings):
    """An app of its own on the same database with every adaptation left out (our
    validator_map and jsonifier stay): Connexion's own middlewares and bearer handler."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(glue, "written_for_this_connexion", lambda: False)
        application = create_app(settings)
    assert not any(getattr(m, "func", m) in glue.OURS.values()
                   for m in application.middleware.middlewares)
    with application.test_client() as client:
        yield client
    open_database(settings.database_url, max_connections=settings.threads + 8)


@pytest.fixture
def stock(stock_client, monkeypatch):
    """Call it to take the patch out too (live, for every app) and get the stock app's client."""

    def switch():
        for name, (owner, attr, _) in glue.PATCHES.items():
            monkeypatch.setattr(owner, attr, glue.STOCK[name])
        monkeypatch.setattr(glue.RememberingJsonifier, "dumps", Jsonifier.dumps)
        return stock_client

    return switch


def answer(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, headers, response.content


def requests(client, people) -> list:
    """Successes and refusals of each kind the pipeline decides, each a call taking a client."""
    auth = people.auth(people.coordinator)
    row = book(client, people)
    bad = interview_body(people)
    bad["interview"]["kind"] = "carrier_pigeon"
    return [
        lambda c: c.get(f"/api/v1/interviews/{row['id']}", headers=auth),
        lambda c: c.get("/api/v1/interviews?limit=3", headers=auth),
        lambda c: c.get("/api/v1/interviews?limit=0", headers=auth),  # parameter 400
        lambda c: c.get("/api/v1/interviews?colour=red", headers=auth),  # strict 400
        lambda c: c.get("/api/v1/interviews/abc", headers=auth),
        lambda c: c.get("/api/v1/interviews/1"),  # no token: 401
        lambda c: c.get("/api/v1/interviews/1", headers={"Authorization": "Bearer x.y.z"}),
        lambda c: c.get("/api/v1/interviews/1", headers={"Authorization": "Basic eDp5"}),
        lambda c: c.get("/api/v1/interviews/1", headers={"Authorization": "Bearer"}),
        lambda c: c.post("/api/v1/interviews", json=bad, headers=auth),  # body 400
        lambda c: c.post("/api/v1/interviews", content=b"<x/>", headers={
            **auth, "Content-Type": "application/xml"}),  # media type 415
        lambda c: c.post("/api/v1/interviews", content=b"<x/>", headers={
            **auth, "Content-Type": "Application/XML; charset=utf-8"}),  # media type 415
        lambda c: c.post("/api/v1/interviews", content=b"{", headers={
            **auth, "Content-Type": "application/json"}),  # malformed 400
        lambda c: c.post("/api/v1/interviews", content=b"{", headers={
            **auth, "Content-Type": "APPLICATION/JSON; charset=utf-8"}),  # malformed 400
        lambda c: c.post("/api/v1/interviews", content=b"{", headers=auth),  # no type: 400
    ]


def test_answers_are_those_of_stock_connexion(client, people, stock):
    calls = requests(client, people)
    ours = [answer(call(client)) for call in calls]
    stock_client = stock()
    assert [answer(call(stock_client)) for call in calls] == ours
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
    auth = people.auth(people.coordinator)
    show = lambda c: c.get(f"/api/v1/interviews/{row['id']}", headers=auth)
    ours = answer(show(client))
    assert answer(show(stock())) == ours


def test_the_response_is_not_parsed_back(client, people, monkeypatch):
    row = book(client, people)
    parsed = []
    original = glue.JSONResponseBodyValidator._parse
    monkeypatch.setattr(glue.JSONResponseBodyValidator, "_parse",
                        lambda self, stream: parsed.append(1) or original(self, stream))
    response = client.get(f"/api/v1/interviews/{row['id']}",
                          headers=people.auth(people.coordinator))
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


def test_the_token_function_is_called_without_inspecting_it(client, people, stock, monkeypatch):
    inspected = []
    real = connexion_security.inspect_function_arguments
    monkeypatch.setattr(connexion_security, "inspect_function_arguments",
                        lambda fn: inspected.append(fn) or real(fn))
    auth = people.auth(people.coordinator)
    for _ in range(3):
        assert client.get("/api/v1/interviews?limit=1", headers=auth).status_code == 200
    assert inspected == []
    assert stock().get("/api/v1/interviews?limit=1", headers=auth).status_code == 200
    assert inspected, "stock inspects the token function's signature on every request"


def test_media_types_are_matched_once(client, people, monkeypatch):
    auth = people.auth(people.coordinator)
    client.post("/api/v1/interviews", json=interview_body(people), headers=auth)
    made = []

    class Counting(MediaTypeDict):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(request_validation, "MediaTypeDict", Counting)
    monkeypatch.setattr(response_validation, "MediaTypeDict", Counting)
    response = client.post("/api/v1/interviews", json=interview_body(people), headers=auth)
    assert response.status_code == 200 and made == []


def test_the_media_types_remembered_are_bounded(client, people):
    auth = people.auth(people.coordinator)
    for n in range(2 * glue.MAX_ACCEPTED):
        spelling = "".join(c.upper() if n >> i & 1 else c for i, c in enumerate("application"))
        assert client.post("/api/v1/interviews", content=b"{", headers={
            **auth, "Content-Type": f"{spelling}/json"}).status_code == 400
    validation = built(client.app, glue.RequestValidationOnceMiddleware)
    for operation in only_api(validation).operations.values():
        assert len(operation.__dict__.get("_accepted_mime_types", ())) <= glue.MAX_ACCEPTED


UI_PATHS = ["/api/v1/ui", "/api/v1/ui/", "/api/v1/ui/index.html", "/api/v1/openapi.json",
            "/api/v1/openapi.json/", "/api/v1/openapi.yaml", "/api/v1/uix", "/api/v1", "/api/v1/",
            "/", "/nope", "/api/v1/interviews/1", "/api/v1/interviews/1/", "/healthz"]


def test_swagger_ui_is_served_as_stock_and_skipped_for_api_paths(client, people, stock,
                                                                 monkeypatch):
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
    fetch = lambda c, path: c.get(path, headers=auth, follow_redirects=False)
    assert fetch(client, "/api/v1/interviews?limit=1").status_code == 200 and calls == []
    ours = [answer(fetch(client, path)) for path in UI_PATHS]
    stock_client = stock()
    assert [answer(fetch(stock_client, path)) for path in UI_PATHS] == ours
    assert "/api/v1/interviews/1" in calls, "stock passes API paths through its router"
    assert ours[UI_PATHS.index("/api/v1/openapi.json")][0] == 200


def test_another_connexion_version_gets_stock_behaviour_and_a_warning(app, monkeypatch):
    monkeypatch.setattr(glue, "version", lambda name: "3.4.0")
    for name, (owner, attr, _) in glue.PATCHES.items():
        monkeypatch.setattr(owner, attr, glue.STOCK[name])
    with pytest.warns(UserWarning, match="not 3.3.0"):
        options = glue.pipeline([partial(dict)], [])
    assert [getattr(m, "func", m) for m in options["middlewares"]] == [
        ConnexionMiddleware.default_middlewares[0], dict,
        *ConnexionMiddleware.default_middlewares[1:]]
    assert options["security_map"] == {}
    for name, (owner, attr, _) in glue.PATCHES.items():
        assert owner.__dict__[attr] is glue.STOCK[name]


CONTENT_TYPE_CASES = [
    [], {}, [(b"accept", b"*/*")], [(b"content-type", b"application/json")],
    [(b"Content-Type", b"text/plain; charset=latin-1"), (b"content-type", b"application/json")],
    [(b"x", b"1"), (b"CONTENT-TYPE", b"application/problem+json \xe9")],
    [(b"content-typ\xe9", b"x")], {"Content-Type": "application/json"}, {"x": "y"},
    [("content-type", "text/calendar")],
]


@pytest.mark.parametrize("headers", CONTENT_TYPE_CASES)
def test_content_type_is_found_as_stock_finds_it(headers):
    assert glue.extract_content_type(headers) == connexion_utils.extract_content_type(headers)


def test_content_type_lookup_is_ours_on_every_path(client, people, monkeypatch):
    """Request validation, the response decorator and response validation all use ours;
    stock's is not reached."""
    calls, stock_calls = [], []
    real, stock = glue.extract_content_type, connexion_utils.extract_content_type
    monkeypatch.setattr(glue, "extract_content_type",
                        lambda headers: calls.append(1) or real(headers))
    monkeypatch.setattr(connexion_utils, "extract_content_type",
                        lambda headers: stock_calls.append(1) or stock(headers))
    auth = people.auth(people.coordinator)
    assert client.post("/api/v1/interviews", json=interview_body(people),
                       headers=auth).status_code == 200
    assert len(calls) == 3 and stock_calls == []
