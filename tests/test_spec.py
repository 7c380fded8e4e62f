"""The contract itself: named types, declared headers, every problem code, the served document."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from db.errors import Invalid
from handlers.wire.problems import CODES
from handlers.wire.timestamps import parse_instant
from tests.helpers.booking import book

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = ("get", "post", "put", "patch", "delete")


def operations():
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(node: dict) -> dict:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = SPEC["components"][section][name]
    return node


POSITIONAL_CODE = {"invalid": 1, "problem": 2}  # function -> index of its `code` argument


def emitted_codes() -> set[str]:
    """Every problem `code` literal in handlers/ and db/: `code="x"` / `code = "x"` anywhere,
    a `{"code": "x"}` dict, the code argument of `invalid(detail, "x")` and
    `problem(status, detail, "x")`, and CODES."""
    found = set(CODES.values()) | {"error"}  # `error`: problem()'s fallback for other statuses
    for module in [*ROOT.joinpath("handlers").rglob("*.py"), *ROOT.joinpath("db").glob("*.py")]:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "code":
                values = [node.value]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", None)
                         for t in targets]
                values = [node.value] if "code" in names else []
            elif isinstance(node, ast.arguments):  # `code: str = "conflict"` defaults
                positional = [*node.posonlyargs, *node.args]
                named = positional[-len(node.defaults):] if node.defaults else []
                values = [d for a, d in zip(named, node.defaults) if a.arg == "code"]
                values += [d for a, d in zip(node.kwonlyargs, node.kw_defaults)
                           if a.arg == "code" and d]
            elif isinstance(node, ast.Dict):
                values = [v for k, v in zip(node.keys, node.values)
                          if isinstance(k, ast.Constant) and k.value == "code"]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in POSITIONAL_CODE:
                values = node.args[POSITIONAL_CODE[node.func.id]:][:1]
            else:
                values = []
            found |= {v.value for v in values
                      if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return found


def test_every_code_the_code_base_can_emit_is_in_the_enum():
    codes = emitted_codes()
    assert {"overlap", "invalid_cursor", "malformed_json", "contention", "amendment_pending",
            "idempotency_key_reused", "unavailable"} <= codes  # the scan finds each form
    missing = codes - set(SPEC["components"]["schemas"]["ProblemCode"]["enum"])
    assert not missing, f"add {sorted(missing)} to components/schemas/ProblemCode"


def test_bodies_and_nested_objects_are_named_schemas():
    """No inline object in a request or response: generators would invent its class name."""
    def inline_objects(schema: dict, where: str):
        if "$ref" in schema:
            return
        if schema.get("type") == "object" or "properties" in schema:
            yield where
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from inline_objects(schema[key], f"{where}.{key}")
        for name, sub in schema.get("properties", {}).items():
            yield from inline_objects(sub, f"{where}.{name}")

    found = []
    for path, method, op in operations():
        bodies = [("requestBody", op["requestBody"])] if "requestBody" in op else []
        bodies += list(op["responses"].items())
        for name, body in bodies:
            for media, content in resolve(body).get("content", {}).items():
                found += inline_objects(content["schema"], f"{method} {path} {name} {media}")
    for name, schema in SPEC["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            found += inline_objects(sub, f"{name}.{prop}")
            if isinstance(sub.get("items"), dict):
                found += inline_objects(sub["items"], f"{name}.{prop}[]")
    assert not found


def test_the_transitions_share_one_body_named_body():
    names = {op["operationId"]: op for _, _, op in operations()}
    for op_id in ("confirmInterview", "declineInterview", "cancelInterview", "completeInterview",
                  "markInterviewNoShow"):
        schema = resolve(names[op_id]["requestBody"])["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/TransitionRequest"}
        assert names[op_id]["x-codegen-request-body-name"] == "body"


def test_every_api_operation_documents_429_and_rate_limit_headers_and_bodies_413():
    for path, method, op in operations():
        if not path.startswith("/api/v1/"):
            continue
        assert "429" in op["responses"], (method, path)
        assert "Retry-After" in resolve(op["responses"]["429"])["headers"]
        if "requestBody" in op:
            assert "413" in op["responses"], (method, path)
        for status, response in op["responses"].items():
            headers = resolve(response).get("headers", {})
            assert {"RateLimit", "RateLimit-Policy", "X-Request-Id"} <= set(headers), (
                method, path, status)


def test_headers_clients_read_are_declared():
    responses = SPEC["components"]["responses"]
    created = responses["InterviewCreated"]["headers"]
    assert {"Location", "ETag", "Idempotent-Replayed"} <= set(created)
    assert {"ETag", "Idempotent-Replayed"} <= set(responses["Interview"]["headers"])
    assert "Link" in responses["InterviewPage"]["headers"]


def test_served_spec_keeps_refs_and_gives_swagger_ui_a_server(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = response.json()
    url = served["servers"][0]["url"]
    assert url == "/"  # Connexion's own copy says "", which leaves Swagger UI's list empty
    # The written document, $refs kept: a generator sees the named types.
    create = served["paths"]["/api/v1/interviews"]["post"]
    assert create["requestBody"] == {"$ref": "#/components/requestBodies/CreateInterview"}
    assert served["components"]["schemas"]["TransitionRequest"]["type"] == "object"
    yaml_copy = yaml.safe_load(client.get("/api/v1/openapi.yaml").text)
    assert yaml_copy["servers"] == served["servers"]
    # Routing still works at the server's URL.
    assert client.get(url.rstrip("/") + "/healthz").status_code == 200
    ui = client.get("/api/v1/ui/")
    assert ui.status_code == 200 and "/api/v1/openapi.json" in ui.text


GENERATOR_FORM = "2031-06-01T08:00:00.000000+0000"


@pytest.mark.parametrize("value", ["2031-06-01T08:00:00Z", GENERATOR_FORM,
                                   "2031-06-01T10:00:00.000000+0200",
                                   "2031-06-01T08:00:00.000000000+0000"])
def test_query_timestamps_take_rfc3339_and_the_generator_form(client, people, value):
    before = book(client, people, "2031-05-31T08:00:00Z", "2031-05-31T08:30:00Z")
    inside = book(client, people, "2031-06-01T08:00:00Z", "2031-06-01T08:30:00Z")
    response = client.get("/api/v1/interviews", headers=people.auth(people.coordinator),
                          params={"start_from": value, "interviewer_id": people.interviewer.id})
    assert response.status_code == 200, response.text
    assert [i["id"] for i in response.json()["interviews"]] == [inside["id"]]
    assert before["id"] != inside["id"]


@pytest.mark.parametrize("value", ["2031-06-01T08:00:00", "2031-02-30T08:00:00+0000",
                                   "2031-06-01T08:00:00+9999", "20310601T080000Z",
                                   "2031-W22-7T08:00:00Z"])
def test_other_query_timestamps_are_400(client, people, value):
    response = client.get("/api/v1/interviews", params={"start_from": value},
                          headers=people.auth(people.coordinator))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_parameter"


def test_bodies_still_require_rfc3339(client, people):
    body = {"interview": {"interviewee_id": people.interviewee.id,
                          "interviewer_id": people.interviewer.id, "kind": "phone_call",
                          "start_at": "2031-07-01T08:00:00.000000+0000",
                          "end_at": "2031-07-01T08:30:00Z"}}
    response = client.post("/api/v1/interviews", json=body, headers=people.auth(people.coordinator))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "interview.start_at"


def test_parse_instant_reads_both_forms_alike():
    rfc = parse_instant("2025-11-20T08:13:05.000Z", "start_from")
    assert parse_instant("2025-11-20T08:13:05.000000+0000", "start_from") == rfc
    assert parse_instant("2025-11-20T09:13:05.000999+0100", "start_from") == rfc
    with pytest.raises(Invalid):
        parse_instant("2025-11-20T08:13:05", "start_from")


@pytest.mark.parametrize("value, admitted", [
    (None, True), ("pending", True), ("x" * 2048, True), (1, True), (2**53 - 1, True),
    (True, True), (False, True), ([], True), ([{"interviewer_id": 7, "role": "shadow"}], True),
    ("x" * 2049, False), (0, False), (2**53, False), (1.5, False), ({}, False),
    ([{"interviewer_id": 7}], False), ([1], False),
])
def test_a_history_value_is_what_it_always_was(value, admitted):
    """EventValue's null is an anyOf branch of its own (for OpenAPI Generator); what it admits
    stays: a string up to 2048, an id, a flag, null, or (since panels) a panel."""
    from openapi_schema_validator import OAS30Validator

    schema = {**SPEC["components"]["schemas"]["EventValue"], "components": SPEC["components"]}
    assert OAS30Validator(schema).is_valid(value) is admitted
