"""A client generated from the served spec (openapi-python-client, pinned in the test extra)
drives a real server: if the spec stops producing usable, well-named code, this fails."""
from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from handlers.platform.auth import issue_token
from tests.helpers.servers import serving

PACKAGE = "interviews_client"
START = datetime(2034, 3, 1, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(database_url):
    with serving(database_url, workers=1) as (base, _process):
        yield base


@pytest.fixture(scope="module")
def generated(server, tmp_path_factory):
    """Generate the client from /api/v1/openapi.json into a temporary directory; import it."""
    work = tmp_path_factory.mktemp("generated")
    (work / "openapi.json").write_text(httpx.get(server + "/api/v1/openapi.json").text)
    (work / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", "openapi.json", "--meta", "none",
         "--config", "config.yaml", "--output-path", PACKAGE],
        check=False, cwd=work, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        shutil.rmtree(work, ignore_errors=True)


class Operations:
    """`ops.create_interview.sync(...)`: the generated module of each operation, imported."""

    def __getattr__(self, name: str):
        return importlib.import_module(f"{PACKAGE}.api.interviews.{name}")


def test_a_generated_client_drives_the_api(generated, server, people, settings):
    from interviews_client import AuthenticatedClient
    from interviews_client.models import (
        AmendmentRequest,
        AmendmentSlot,
        InterviewCreate,
        InterviewCreateRequest,
        InterviewEnvelope,
        InterviewPage,
        InterviewUpdate,
        InterviewUpdateRequest,
        Kind,
        Problem,
        ProblemCode,
        Status,
        TransitionRequest,
    )

    interviews = Operations()

    def as_(user) -> AuthenticatedClient:
        return AuthenticatedClient(base_url=server, token=issue_token(settings, user.id),
                                   raise_on_unexpected_status=True)

    coordinator, interviewer, driver = as_(people.coordinator), as_(people.interviewer), as_(people.driver)

    def booking(start: datetime) -> InterviewCreateRequest:
        return InterviewCreateRequest(interview=InterviewCreate(
            kind=Kind.VIDEO_CALL, start_at=start, end_at=start + timedelta(minutes=30),
            interviewee_id=people.interviewee.id, interviewer_id=people.interviewer.id,
            location="https://zoom.com"))

    # Create, with an Idempotency-Key; the retry gets the same answer, marked as a replay.
    key = str(uuid.uuid4())
    created = interviews.create_interview.sync_detailed(client=coordinator, body=booking(START),
                                                        idempotency_key=key)
    assert created.status_code == 200 and isinstance(created.parsed, InterviewEnvelope)
    first = created.parsed.interview
    assert first.status == Status.PENDING and first.start_at == START
    assert created.headers["location"] == f"/api/v1/interviews/{first.id}"
    retried = interviews.create_interview.sync_detailed(client=coordinator, body=booking(START),
                                                        idempotency_key=key)
    assert retried.parsed.interview.id == first.id
    assert retried.headers["idempotent-replayed"] == "true"

    # Show.
    shown = interviews.show_interview.sync(first.id, client=driver)
    assert isinstance(shown, InterviewEnvelope) and shown.interview.interviewer.id == people.interviewer.id

    # A 409, read as a typed problem.
    overlap = interviews.create_interview.sync(client=coordinator, body=booking(START + timedelta(minutes=10)))
    assert isinstance(overlap, Problem)
    assert (overlap.status, overlap.code, overlap.conflicts) == (409, ProblemCode.OVERLAP, [first.id])

    # A paged list (with a timestamp query parameter, as the client sends it).
    second = interviews.create_interview.sync(client=coordinator, body=booking(START + timedelta(hours=1)))
    pages, cursor = [], None
    for _ in range(3):
        page = interviews.list_interviews.sync(
            client=interviewer, interviewer_id=people.interviewer.id, start_from=START, limit=1,
            **({"cursor": cursor} if cursor else {}))
        assert isinstance(page, InterviewPage)
        pages.append([i.id for i in page.interviews])
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == [[first.id], [second.interview.id]]

    # Propose a new time (driver side), accept it (interviewer side).
    moved = START + timedelta(days=1)
    proposed = interviews.propose_amendment.sync(first.id, client=driver, body=AmendmentRequest(
        amendment=AmendmentSlot(start_at=moved, end_at=moved + timedelta(minutes=45))))
    assert proposed.interview.amend_start_at == moved and proposed.interview.amended_by == people.driver.id
    accepted = interviews.accept_amendment.sync_detailed(first.id, client=interviewer)
    assert accepted.parsed.interview.start_at == moved
    assert accepted.parsed.interview.status == Status.CONFIRMED

    # A 412: an edit with a stale ETag; then the current one works.
    stale = interviews.update_interview.sync(first.id, client=interviewer, if_match=created.headers["etag"],
                                             body=InterviewUpdateRequest(interview=InterviewUpdate(kind=Kind.PHONE_CALL)))
    assert isinstance(stale, Problem) and (stale.status, stale.code) == (412, ProblemCode.PRECONDITION_FAILED)
    edited = interviews.update_interview.sync(first.id, client=interviewer, if_match=accepted.headers["etag"],
                                              body=InterviewUpdateRequest(interview=InterviewUpdate(kind=Kind.PHONE_CALL)))
    assert edited.interview.kind == Kind.PHONE_CALL

    # The shared transition body, under the name `body`.
    cancelled = interviews.cancel_interview.sync(second.interview.id, client=driver,
                                                 body=TransitionRequest(reason="found another job"))
    assert (cancelled.interview.status, cancelled.interview.status_reason) == (Status.CANCELLED, "found another job")
