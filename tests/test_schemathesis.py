"""Schemathesis, in-process, against the served spec: every check, stateless and stateful."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import DEFAULT_STATE_MACHINE_SETTINGS

from db import migrate, open_database
from db.people import import_people
from handlers.app import create_app
from handlers.auth import issue_token
from tests.conftest import backend_url

CONFIG = Path(__file__).with_name("schemathesis.toml")
DEMO = Path(__file__).resolve().parent.parent / "db" / "demo_people.json"


@pytest.fixture(scope="module")
def fuzz_app(app, settings, tmp_path_factory):
    """An app on a database of its own holding only the demo people, so that what the fuzzer
    sees (and replays) does not depend on which tests ran before it."""
    from db.models import database

    fresh = backend_url(tmp_path_factory)
    application = create_app(replace(settings, database_url=next(fresh)))
    migrate()
    with database.connection_context():
        import_people(json.loads(DEMO.read_text()))
    yield application
    open_database(settings.database_url, max_connections=settings.threads + 8)  # back to the session's
    next(fresh, None)


@pytest.fixture(scope="module")
def api_schema(fuzz_app, settings):
    loaded = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", fuzz_app, config=SchemathesisConfig.from_path(str(CONFIG))
    )
    token = issue_token(settings, 1015)  # the demo coordinator: may do everything

    @loaded.auth()
    class Coordinator:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @loaded.hook("flatmap_case")
    def plausible_bodies(context, case):
        """Half the schema-valid bookings and proposals name demo people and a sane slot, so
        the success paths get fuzzed too, not only the refusals of random ids and durations."""
        body = case.body
        if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE \
                or not isinstance(body, dict):
            return st.just(case)
        for wrapper in ("interview", "amendment"):
            fields = body.get(wrapper)
            if isinstance(fields, dict) and isinstance(fields.get("start_at"), str) \
                    and isinstance(fields.get("end_at"), str):
                chosen = BOOKING if isinstance(fields.get("interviewee_id"), int) else SLOT
                return st.one_of(st.just(case), chosen.map(
                    lambda values, fields=fields, wrapper=wrapper: with_body(case, {**body, wrapper: {**fields, **values}})))
        return st.just(case)

    return loaded


SLOT = st.fixed_dictionaries({
    "start_at": st.sampled_from(["2031-01-01T09:00:00Z", "2031-01-01T09:30:00+00:00"]),
    "end_at": st.sampled_from(["2031-01-01T10:00:00Z", "2031-01-01T12:00:00.5Z"]),
})
BOOKING = st.tuples(SLOT, st.sampled_from([1014, 1016]), st.sampled_from([289, 290])).map(
    lambda t: {**t[0], "interviewer_id": t[1], "interviewee_id": t[2]})


def with_body(case, body):
    case.body = body
    return case


def forget_demo_interviews() -> None:
    """Delete what sequences did to the demo people: their interviews, history and keys."""
    from db.idempotency import IdempotencyKey
    from db.models import Event, Interview, database

    demo = json.loads(DEMO.read_text())
    with database.connection_context(), database.atomic():
        ids = Interview.select(Interview.id).where(
            Interview.interviewee.in_([i["id"] for i in demo["interviewees"]]))
        Event.delete().where(Event.interview.in_(ids)).execute()
        Interview.delete().where(Interview.id.in_(ids)).execute()
        IdempotencyKey.delete().where(IdempotencyKey.user_id.in_([u["id"] for u in demo["users"]])).execute()
        from db.webhooks import Delivery, Webhook

        Delivery.delete().execute()  # the fuzz database's own: webhooks sequences registered
        Webhook.delete().execute()


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
        def setup(self):
            # Each sequence starts from the same data, so the same steps get the same answers
            # (Hypothesis requires it), whatever the tests before left behind.
            forget_demo_interviews()
            super().setup()

        def after_call(self, response, case):
            calls[f"stateful {case.operation.label.split()[0]} {response.status_code}"] += 1

    Machine.run(settings=hypothesis.settings(DEFAULT_STATE_MACHINE_SETTINGS, max_examples=50, database=None))
