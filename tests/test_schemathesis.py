"""Schemathesis, in-process, against the served spec: every check, stateless and stateful;
and schema-valid cases reach every operation's success path."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import DEFAULT_STATE_MACHINE_SETTINGS
from schemathesis.specs.openapi import stateful

from tests.helpers.fuzz import (
    DEMO_USERS,
    DRIVER,
    World,
    as_demo_coordinator,
    operation_id,
)

CONFIG = Path(__file__).with_name("schemathesis.toml")
MIN_SUCCESSES = 10  # 2xx answers the reach test needs per operation...
REACH_CASES = 40  # ...of this many schema-valid cases
INTERVIEWEE_SIDE = {"confirmInterview", "declineInterview", "acceptAmendment", "rejectAmendment"}


@pytest.fixture(scope="module")
def api_schema(fuzz_app, settings):
    loaded = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", fuzz_app, config=SchemathesisConfig.from_path(str(CONFIG))
    )
    return as_demo_coordinator(loaded, settings)


@pytest.fixture(scope="module")
def world(fuzz_app, settings):
    """Makes interviews of the demo people in the state each operation needs, through the API."""
    with fuzz_app.test_client() as http:
        yield World(http, settings)


schema = schemathesis.pytest.from_fixture("api_schema")
calls: Counter = Counter()
reached: dict[str, Counter] = {}  # operationId -> {phase: cases, f"{phase} 2xx": 2xx answers}
PHASES = ("stateless", "stateful", "reach")


def count(case, status: int, phase: str) -> None:
    tally = reached.setdefault(operation_id(case), Counter())
    tally[phase] += 1
    if 200 <= status < 300:
        tally[f"{phase} 2xx"] += 1


def success_table() -> list[str]:
    """One line per operation: cases sent and how many reached a 2xx, per phase."""
    lines = [f"{'operation':<30}" + "".join(f" {phase:>9} {'2xx':>5}" for phase in PHASES)]
    for name, tally in sorted(reached.items()):
        lines.append(f"{name:<30}" + "".join(
            f" {tally[phase]:>9} {tally[f'{phase} 2xx']:>5}" for phase in PHASES))
    return lines


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    stateless = {k: v for k, v in calls.items() if isinstance(k, int)}
    stateful_calls = {k: v for k, v in calls.items() if isinstance(k, str)}
    print(f"\nschemathesis: {sum(stateless.values())} stateless cases, by status "
          f"{dict(sorted(stateless.items()))}; {sum(stateful_calls.values())} stateful calls, "
          f"{dict(sorted(stateful_calls.items()))}")


def positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


def without_input(operation) -> bool:
    raw = operation.definition.raw
    return "{" not in operation.path and not raw.get("parameters") and "requestBody" not in raw


def send(case, world, phase: str, call) -> None:
    """One case, pointed by the World at what its operation needs when schema-valid, through
    `call`; an operation without input is sent as each demo user too (each role's 2xx)."""
    if positive(case):
        world.realize(case)
    try:
        response = call(case)
    finally:
        world.tidy(case)
    count(case, response.status_code, phase)
    if positive(case) and without_input(case.operation):
        for user in DEMO_USERS:
            world.act_as(case, user)
            count(case, call(case).status_code, phase)


def call_and_validate(case):
    response = case.call_and_validate()
    calls[response.status_code] += 1
    return response


@schema.parametrize()
def test_every_operation_conforms(case, world):
    send(case, world, "stateless", call_and_validate)


def test_stateful_sequences_conform(api_schema, world, monkeypatch):
    # Schemathesis starts sequences only at operations it expects to succeed, and expects a
    # create naming people (whom no operation creates) to fail: create is where ours start.
    monkeypatch.setattr(stateful, "is_likely_root_transition",
                        lambda operation, node, produced: not operation.path_parameters)

    class Machine(api_schema.as_state_machine()):
        def setup(self):
            # Each sequence starts from the same data, so the same steps get the same answers
            # (Hypothesis requires it), whatever the tests before left behind.
            world.reset()
            super().setup()

        def before_call(self, case):
            # The interviewee side answers what the interviewer side (the coordinator) did.
            if operation_id(case) in INTERVIEWEE_SIDE:
                world.act_as(case, DRIVER)

        def after_call(self, response, case):
            calls[f"stateful {case.operation.label.split()[0]} {response.status_code}"] += 1
            count(case, response.status_code, "stateful")

    Machine.run(settings=hypothesis.settings(DEFAULT_STATE_MACHINE_SETTINGS, max_examples=50,
                                             database=None))


def test_every_operation_reached_its_success_path(api_schema, world):
    """Schema-valid cases, pointed by the World at what each operation needs, get past "no
    such interview" and the rules: of REACH_CASES drawn for an operation (from the demo
    people alone), at least MIN_SUCCESSES answer 2xx; an operation without input answers 2xx
    to each demo user. The table prints in the terminal summary."""
    world.reset()
    successes = {}
    operations = {result.ok().definition.raw["operationId"]: result.ok()
                  for result in api_schema.get_all_operations()}
    for name, operation in operations.items():

        # The conformance test above checks the answers; this one counts them.
        @hypothesis.settings(max_examples=1 if without_input(operation) else REACH_CASES,
                             database=None, deadline=None, phases=[hypothesis.Phase.generate],
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(operation.as_strategy(GenerationMode.POSITIVE))
        def reach(case):
            send(case, world, "reach", lambda case: case.call())

        reach()
        successes[name] = reached.get(name, Counter())["reach 2xx"]
    needed = {name: len(DEMO_USERS) if without_input(operation) else MIN_SUCCESSES
              for name, operation in operations.items()}
    short = {name: n for name, n in successes.items() if n < needed[name]}
    assert short == {}, "\n".join([  # a new operation: tell the World what it needs
        f"short of 2xx: {short}; see World in tests/helpers/fuzz.py", *success_table()])
