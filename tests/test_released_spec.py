"""No silent breaking change: the last released contract (spec/released.yaml) still holds.

Schemathesis generates requests from the *released* spec and sends them to the current app:
a request it allowed that is now refused, or a response it does not describe (status, body,
headers), fails. New response fields are not breaking (clients ignore members they do not
know, see README), so the released response schemas are read with `additionalProperties:
false` lifted; everything else, enums included, binds as written. The escape hatch is a new
major version in openapi.yaml's `info.version`: then the released contract no longer binds and
this test is skipped, saying so. On release, copy openapi.yaml to spec/released.yaml (see
README, "Compatibility with the released spec").
"""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from schemathesis.config import SchemathesisConfig

from tests.helpers.fuzz import as_demo_coordinator

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "spec" / "released.yaml"
CURRENT = ROOT / "openapi.yaml"
CONFIG = Path(__file__).with_name("schemathesis-released.toml")


def major(spec_file: Path) -> int:
    return int(str(yaml.safe_load(spec_file.read_text())["info"]["version"]).split(".")[0])


def breaking_change_allowed() -> str | None:
    """Why the released contract does not bind any more, or None when it does."""
    released, current = major(RELEASED), major(CURRENT)
    if current > released:
        return (f"openapi.yaml is version {current}.x, a new major over the released "
                f"{released}.x: breaking changes are allowed; release it to spec/released.yaml")
    return None


def refs_reached(node, spec: dict, seen: set[str]) -> set[str]:
    """Every `$ref` reachable from `node`, followed through the spec."""
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"] not in seen:
            seen.add(node["$ref"])
            section, name = node["$ref"].split("/")[-2:]
            refs_reached(spec["components"][section][name], spec, seen)
        for value in node.values():
            refs_reached(value, spec, seen)
    elif isinstance(node, list):
        for value in node:
            refs_reached(value, spec, seen)
    return seen


def open_responses(spec: dict) -> dict:
    """`spec` with `additionalProperties: false` lifted from everything responses reach."""
    def lift(node):
        if isinstance(node, dict):
            if node.get("additionalProperties") is False:
                del node["additionalProperties"]
            for value in node.values():
                lift(value)
        elif isinstance(node, list):
            for value in node:
                lift(value)

    responses = [op["responses"] for item in spec["paths"].values() for op in item.values()
                 if isinstance(op, dict) and "responses" in op]
    for ref in refs_reached(responses, spec, set()):
        section, name = ref.split("/")[-2:]
        lift(spec["components"][section][name])
    lift(responses)
    return spec


def test_only_response_schemas_are_opened():
    spec = yaml.safe_load(RELEASED.read_text())
    opened = open_responses(yaml.safe_load(RELEASED.read_text()))
    requests = [op.get("requestBody", {}) for item in spec["paths"].values() for op in item.values()
                if isinstance(op, dict)]
    for ref in refs_reached(requests, spec, set()):  # what requests use stays as released
        section, name = ref.split("/")[-2:]
        assert opened["components"][section][name] == spec["components"][section][name], ref
    assert opened["components"]["schemas"]["InterviewCreate"]["additionalProperties"] is False
    assert "additionalProperties" not in opened["components"]["schemas"]["Interview"]


def test_the_current_spec_does_not_go_back_a_major():
    assert major(CURRENT) >= major(RELEASED)


@pytest.fixture(scope="module")
def released_schema(fuzz_app, settings):
    if reason := breaking_change_allowed():
        pytest.skip(reason)
    released = open_responses(yaml.safe_load(RELEASED.read_text()))
    loaded = schemathesis.openapi.from_dict(released,
                                            config=SchemathesisConfig.from_path(str(CONFIG)))
    loaded.app = fuzz_app
    return as_demo_coordinator(loaded, settings)


schema = schemathesis.pytest.from_fixture("released_schema")


@schema.parametrize()
def test_the_released_contract_still_holds(case):
    case.call_and_validate()
