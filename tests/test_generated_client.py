"""Clients generated from the served spec by two generators, openapi-python-client and OpenAPI
Generator's `python` (both pinned in the test extra; the latter runs on Java 17), drive a real
server through the same walk: book, show, a 409, a paged list, propose and accept, a 412, the
shared transition body, the history and the change feed. If the spec stops producing usable,
well-named code in either, or makes either warn, this fails. Generation is offline."""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import httpx
import pytest

from handlers.platform.auth import issue_token
from tests.helpers.servers import serving

START = datetime(2034, 3, 1, 9, tzinfo=UTC)
BIN = Path(sys.executable).parent
# The generator's own noise, told apart from ours by what it says about a spec with nothing in
# it but one operation. That operation has a query parameter named `from`, like
# showAvailability's: OpenAPI Generator 7 passes every parameter name through its model
# namer (to name a parameter's `content` schema, which none of ours has), and the python
# generator warns when the name is a Python keyword. Only renaming the parameter, on the
# wire, would silence it; the generated code calls it `var_from` and has no `ModelFrom`.
TRIVIAL = {
    "openapi": "3.0.3",
    "info": {"title": "trivial", "version": "1.0.0"},
    "paths": {"/ping": {"get": {
        "operationId": "ping",
        "parameters": [{"name": "from", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "pong", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Pong"}}}}}}}},
    "components": {"schemas": {"Pong": {"type": "object",
                                        "properties": {"ok": {"type": "boolean"}}}}},
}
WARNING = re.compile(r"^\[\w+\] (?:WARN|ERROR)\s+\S+ - (.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def server(database_url):
    with serving(database_url, workers=1) as (base, _process):
        yield base


@pytest.fixture(scope="module")
def served_spec(server, tmp_path_factory) -> Path:
    """/api/v1/openapi.json, as a client's developer would download it."""
    path = tmp_path_factory.mktemp("spec") / "openapi.json"
    path.write_text(httpx.get(server + "/api/v1/openapi.json").text)
    return path


def run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def openapi_python_client(spec: Path, work: Path, package: str) -> str:
    (work / "config.yaml").write_text(f"package_name_override: {package}\npost_hooks: []\n")
    return run([str(BIN / "openapi-python-client"), "generate", "--path", str(spec),
                "--meta", "none", "--config", "config.yaml", "--output-path", package], work)


def java_missing() -> str | None:
    if shutil.which("java") is None:
        return "no `java` on PATH for OpenAPI Generator (apt-get install openjdk-17-jre-headless)"
    return None


def openapi_generator(spec: Path, work: Path, package: str) -> str:
    """OpenAPI Generator's `python` client of `spec` in work/out; what the generator printed."""
    reason = java_missing()
    if reason:
        if os.environ.get("INTERVIEWS_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"INTERVIEWS_TEST_REQUIRE_ALL=1 but {reason}")
        pytest.skip(reason)
    only_code = "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false"
    return run([str(BIN / "openapi-generator-cli"), "generate", "-i", str(spec), "-g", "python",
                "-o", "out", "--package-name", package, "--global-property", only_code], work)


@contextlib.contextmanager
def imported(directory: Path, package: str) -> Iterator[ModuleType]:
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(directory))
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]


class Answer(NamedTuple):
    status: int
    headers: Any  # case-insensitive in both clients
    body: Any  # the client's own model (a Problem for errors)


class PythonClient:
    """openapi-python-client: one module per operation, `sync_detailed(..., client=...)`."""

    name = "openapi-python-client"

    def __init__(self, package: ModuleType, base: str, token: str) -> None:
        self.models = importlib.import_module(package.__name__ + ".models")
        self.api = package.__name__ + ".api"
        self.client = package.AuthenticatedClient(base_url=base, token=token,
                                                  raise_on_unexpected_status=True)

    def __call__(self, operation: str, *args, tag: str = "interviews", **kwargs) -> Answer:
        module = importlib.import_module(f"{self.api}.{tag}.{operation}")
        response = module.sync_detailed(*args, client=self.client, **kwargs)
        return Answer(response.status_code, response.headers, response.parsed)

    @staticmethod
    def changes(event) -> dict[str, tuple[Any, Any]]:
        return {field: (change.from_, change.to)
                for field, change in event.changes.additional_properties.items()}

    @staticmethod
    def type_of(event):  # `type` is a builtin's name here
        return event.type_


class GeneratorClient:
    """OpenAPI Generator: one class per tag, `<operation>_with_http_info(...)`; an error
    status raises ApiException, whose `data` is the typed problem."""

    name = "openapi-generator"

    def __init__(self, package: ModuleType, base: str, token: str) -> None:
        self.models = package
        self.errors = package.ApiException
        client = package.ApiClient(package.Configuration(host=base, access_token=token))
        self.apis = {tag: getattr(package, tag.title().replace("_", "") + "Api")(client)
                     for tag in ("interviews", "holds", "loops", "scheduling_requests")}

    def __call__(self, operation: str, *args, tag: str = "interviews", **kwargs) -> Answer:
        try:
            response = getattr(self.apis[tag], operation + "_with_http_info")(*args, **kwargs)
        except self.errors as error:
            return Answer(error.status, error.headers, error.data)
        return Answer(response.status_code, response.headers, response.data)

    @staticmethod
    def changes(event) -> dict[str, tuple[Any, Any]]:
        def plain(value):  # an EventValue (anyOf) holds its value; null is None
            return None if value is None else value.actual_instance

        return {field: (plain(change.var_from), plain(change.to))
                for field, change in event.changes.items()}

    @staticmethod
    def type_of(event):
        return event.type


GENERATORS = {"openapi-python-client": (openapi_python_client, PythonClient),
              "openapi-generator": (openapi_generator, GeneratorClient)}


class Generated(NamedTuple):
    client: type  # PythonClient or GeneratorClient
    package: ModuleType
    output: str  # what the generator printed
    directory: Path


@pytest.fixture(scope="module", params=list(GENERATORS))
def generated(request, served_spec, tmp_path_factory) -> Iterator[Generated]:
    generate, client = GENERATORS[request.param]
    work = tmp_path_factory.mktemp(request.param)
    package = "interviews_" + request.param.replace("-", "_")
    output = generate(served_spec, work, package)
    directory = work / "out" if client is GeneratorClient else work
    with imported(directory, package) as module:
        yield Generated(client, module, output, directory)
    shutil.rmtree(work, ignore_errors=True)


def test_no_generator_warning_comes_from_our_spec(generated, tmp_path):
    if generated.client is PythonClient:
        assert "Warning" not in generated.output, generated.output
        return
    (tmp_path / "trivial.json").write_text(json.dumps(TRIVIAL))
    noise = set(WARNING.findall(openapi_generator(tmp_path / "trivial.json", tmp_path, "trivial")))
    ours = set(WARNING.findall(generated.output))
    assert ours - noise == set()
    assert "ModelFrom" not in (generated.directory / "README.md").read_text()


def test_a_generated_client_drives_the_api(generated, server, people, settings):
    def as_(user):
        return generated.client(generated.package, server, issue_token(settings, user.id))

    coordinator, interviewer = as_(people.coordinator), as_(people.interviewer)
    driver = as_(people.driver)
    m = coordinator.models  # the generated models, named as in components/schemas

    def booking(start: datetime):
        return m.InterviewCreateRequest(interview=m.InterviewCreate(
            kind=m.Kind.VIDEO_CALL, start_at=start, end_at=start + timedelta(minutes=30),
            interviewee_id=people.interviewee.id, interviewer_id=people.interviewer.id,
            location="https://zoom.com"))

    # Create, with an Idempotency-Key; the retry gets the same answer, marked as a replay.
    key = str(uuid.uuid4())
    created = coordinator("create_interview", body=booking(START), idempotency_key=key)
    assert created.status == 200 and isinstance(created.body, m.InterviewEnvelope)
    first = created.body.interview
    assert first.status == m.Status.PENDING and first.start_at == START
    assert created.headers["location"] == f"/api/v1/interviews/{first.id}"
    retried = coordinator("create_interview", body=booking(START), idempotency_key=key)
    assert retried.body.interview.id == first.id
    assert retried.headers["idempotent-replayed"] == "true"

    # Show.
    shown = driver("show_interview", first.id)
    assert isinstance(shown.body, m.InterviewEnvelope)
    assert shown.body.interview.interviewer.id == people.interviewer.id

    # A 409, read as a typed problem.
    overlap = coordinator("create_interview", body=booking(START + timedelta(minutes=10)))
    assert overlap.status == 409 and isinstance(overlap.body, m.Problem)
    assert (overlap.body.status, overlap.body.code, overlap.body.conflicts) == (
        409, m.ProblemCode.OVERLAP, [first.id])

    # A paged list (with a timestamp query parameter, as each client sends it).
    second = coordinator("create_interview", body=booking(START + timedelta(hours=1))).body
    pages, cursor = [], None
    for _ in range(3):
        page = interviewer("list_interviews", interviewer_id=people.interviewer.id,
                           start_from=START, limit=1, **({"cursor": cursor} if cursor else {}))
        assert page.status == 200 and isinstance(page.body, m.InterviewPage)
        pages.append([i.id for i in page.body.interviews])
        cursor = page.body.next_cursor
        if cursor is None:
            break
    assert pages == [[first.id], [second.interview.id]]

    # Propose a new time (driver side), accept it (interviewer side).
    moved = START + timedelta(days=1)
    proposed = driver("propose_amendment", first.id, body=m.AmendmentRequest(
        amendment=m.AmendmentSlot(start_at=moved, end_at=moved + timedelta(minutes=45)))).body
    assert proposed.interview.amend_start_at == moved
    assert proposed.interview.amended_by == people.driver.id
    accepted = interviewer("accept_amendment", first.id)
    assert accepted.body.interview.start_at == moved
    assert accepted.body.interview.status == m.Status.CONFIRMED

    # A 412: an edit with a stale ETag; then the current one works.
    phone = m.InterviewUpdateRequest(interview=m.InterviewUpdate(kind=m.Kind.PHONE_CALL))
    stale = interviewer("update_interview", first.id, if_match=created.headers["etag"],
                        body=phone)
    assert stale.status == 412 and isinstance(stale.body, m.Problem)
    assert (stale.body.status, stale.body.code) == (412, m.ProblemCode.PRECONDITION_FAILED)
    edited = interviewer("update_interview", first.id, if_match=accepted.headers["etag"],
                         body=phone)
    assert edited.body.interview.kind == m.Kind.PHONE_CALL

    # The shared transition body, under the name `body`.
    cancelled = driver("cancel_interview", second.interview.id,
                       body=m.TransitionRequest(reason="found another job")).body
    assert (cancelled.interview.status, cancelled.interview.status_reason) == (
        m.Status.CANCELLED, "found another job")

    # The history: each change with its values before and after (null before a creation).
    history = interviewer("list_interview_events", first.id)
    assert history.status == 200 and isinstance(history.body, m.EventList)
    events = history.body.events
    assert [e.action for e in events] == [
        m.EventAction.CREATE, m.EventAction.PROPOSE_AMENDMENT, m.EventAction.ACCEPT_AMENDMENT,
        m.EventAction.EDIT]
    assert all(e.actor_id for e in events)
    assert interviewer.changes(events[0])["status"] == (None, "pending")
    assert interviewer.changes(events[2])["status"] == ("pending", "confirmed")
    assert interviewer.changes(events[3])["kind"] == ("video_call", "phone_call")

    # The change feed, polled with its cursor until it has nothing new: this interviewer
    # sees both interviews' events, in commit order, with the history's ids.
    feed, after = [], None
    while True:
        page = interviewer("list_feed_events", limit=2, **({"after": after} if after else {}))
        assert page.status == 200 and isinstance(page.body, m.FeedPage)
        feed += page.body.events
        after = page.body.next_cursor
        if not page.body.events:
            break
    assert [e.id for e in feed if e.interview_id == first.id] == [e.id for e in events]
    types = [interviewer.type_of(e) for e in feed if e.interview_id == second.interview.id]
    assert types == ["interview.created", "interview.cancelled"]  # str enums (member names
    assert all(isinstance(t, m.EventType) for t in types)         # differ between generators)
    assert interviewer.changes(feed[0])["status"] == (None, "pending")


def test_a_generated_client_holds_and_books_a_loop(generated, server, people, settings):
    coordinator = generated.client(generated.package, server,
                                   issue_token(settings, people.coordinator.id))
    m = coordinator.models
    start = START + timedelta(days=30)
    rounds = [(start + timedelta(hours=n), who.id)
              for n, who in enumerate((people.interviewer, people.other_interviewer))]
    held = coordinator("create_hold", tag="holds", body=m.HoldCreateRequest(hold=m.HoldCreate(
        interviewee_id=people.interviewee.id, ttl_seconds=120, slots=[
            m.HoldSlot(start_at=at, end_at=at + timedelta(minutes=45), interviewer_ids=[who])
            for at, who in rounds])))
    assert held.status == 201, held.body
    hold = held.body.hold
    booked = coordinator("create_loop", tag="loops", body=m.LoopCreateRequest(loop=m.LoopCreate(
        interviewee_id=people.interviewee.id, hold_id=hold.id, rounds=[
            m.LoopRound(start_at=at, end_at=at + timedelta(minutes=45), interviewer_id=who,
                        kind=m.Kind.VIDEO_CALL, location="https://zoom.com")
            for at, who in rounds])))
    assert booked.status == 200, booked.body
    loop = booked.body.loop
    assert [i.start_at for i in loop.interviews] == [at for at, _ in rounds]
    assert {i.loop_id for i in loop.interviews} == {loop.id}
    shown = coordinator("show_hold", hold.id, tag="holds")
    status = shown.body.hold.status
    assert getattr(status, "value", status) == "used"  # an enum member, or its string


def test_a_generated_client_offers_a_time_the_candidate_holds_and_books(
        generated, server, people, settings):
    coordinator = generated.client(generated.package, server,
                                   issue_token(settings, people.coordinator.id))
    candidate = generated.client(generated.package, server, issue_token(settings, people.driver.id))
    m = coordinator.models
    start = START + timedelta(days=40)
    body = {"scheduling_request": {  # `from` is `from_` in one client, `var_from` in the other
        "interviewee_id": people.interviewee.id, "from": start.isoformat(),
        "to": (start + timedelta(hours=2)).isoformat(), "kind": "video_call",
        "rounds": [{"duration_minutes": 30, "interviewer_ids": [people.interviewer.id]}],
        "location": "https://zoom.com",
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}}
    made = coordinator("create_scheduling_request", tag="scheduling_requests",
                       body=m.SchedulingRequestCreateRequest.from_dict(body))
    assert made.status == 201, made.body
    request = made.body.scheduling_request
    offered = candidate("list_scheduling_request_options", request.id, tag="scheduling_requests")
    assert offered.status == 200, offered.body
    option = offered.body.options[0]
    assert option.start_at == start
    assert [i.id for i in option.rounds[0].interviewers] == [people.interviewer.id]
    held = candidate("create_hold", tag="holds", body=m.HoldCreateRequest(hold=m.HoldCreate(
        interviewee_id=people.interviewee.id, scheduling_request_id=request.id, slots=[
            m.HoldSlot(start_at=r.start_at, end_at=r.end_at, interviewer_ids=r.interviewer_ids)
            for r in option.rounds])))
    assert held.status == 201, held.body
    booked = candidate("book_scheduling_request", request.id, tag="scheduling_requests",
                       body=m.SchedulingBookRequest(option=m.SchedulingBookOption(
                           start_at=option.start_at, hold_id=held.body.hold.id)))
    assert booked.status == 200, booked.body
    status = booked.body.scheduling_request.status
    assert getattr(status, "value", status) == "booked"
    assert len(booked.body.scheduling_request.interview_ids) == 1
