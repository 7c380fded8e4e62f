"""Schemathesis, in-process, against the served spec: every check, stateless and stateful."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from db.people import import_people
from handlers.auth import issue_token

CONFIG = Path(__file__).with_name("schemathesis.toml")
DEMO = Path(__file__).resolve().parent.parent / "db" / "demo_people.json"


@pytest.fixture(scope="module")
def api_schema(app, settings):
    from db.models import database

    with database.connection_context():
        import_people(json.loads(DEMO.read_text()))
    loaded = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", app, config=SchemathesisConfig.from_path(str(CONFIG))
    )
    token = issue_token(settings, 1015)  # the demo coordinator: may do everything

    @loaded.auth()
    class Coordinator:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")
calls: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    stateless = {k: v for k, v in calls.items() if isinstance(k, int)}
    stateful = {k: v for k, v in calls.items() if isinstance(k, str)}
    print(f"\nschemathesis: {sum(stateless.values())} stateless cases, by status {dict(sorted(stateless.items()))}; "
          f"{sum(stateful.values())} stateful calls, {dict(sorted(stateful.items()))}")


@schema.parametrize()
def test_every_operation_conforms(case):
    calls[case.call_and_validate().status_code] += 1


def test_stateful_sequences_conform(api_schema):
    class Machine(api_schema.as_state_machine()):
        def after_call(self, response, case):
            calls[f"stateful {case.operation.label.split()[0]} {response.status_code}"] += 1

    Machine.run()
