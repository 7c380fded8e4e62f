"""Fixtures: one app per test session on a fresh database, people made per test."""
from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg import sql

from db import migrate
from db.models import Interviewee, User
from handlers.platform.app import create_app
from handlers.platform.auth import issue_token
from handlers.platform.settings import Settings

SECRET = "test-secret-that-is-long-enough-for-hs256"
ids = itertools.count(int(datetime.now().timestamp() * 1000) % 10**9 * 1000)


def backend_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new PostgreSQL database when configured."""
    server = os.environ.get("INTERVIEWS_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/test.db"
        return
    name = f"interviews_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from backend_url(tmp_path_factory)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The suite sends thousands of requests from one client: only tests/test_limits.py limits them.
    # No delivery worker in the in-process app: what tests (and the fuzzer) register is never
    # called unless a test runs a Deliverer itself; loopback receivers may be registered.
    return Settings(database_url=database_url, jwt_secret=SECRET, env="production",
                    rate_limit="off", webhook_delivery=False, webhook_allow_private=True)


@pytest.fixture(scope="session")
def app(settings: Settings):
    application = create_app(settings)
    migrate()
    return application


@pytest.fixture(scope="session")
def client(app):
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def db(app):
    """A connection for a test that reads or writes rows directly."""
    from db.models import database

    with database.connection_context():
        yield database


def make_user(role: str, **fields) -> User:
    from db.models import database

    with database.connection_context():
        title = fields.pop("title", f"{role} {uuid.uuid4().hex[:6]}")
        return User.create(id=next(ids), title=title, role=role, **fields)


def make_interviewee(driver: User, **fields) -> Interviewee:
    from db.models import database

    with database.connection_context():
        return Interviewee.create(id=next(ids), driver=driver, kind=fields.get("kind", "interview"),
                                  currency=fields.get("currency", "GBP"))


class People:
    """A coordinator, an interviewer, a driver with an interviewee, and a stranger of each role."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.coordinator = make_user("coordinator")
        self.interviewer = make_user("interviewer", phone_number="456")
        self.other_interviewer = make_user("interviewer")
        self.driver = make_user("driver", phone_number="123")
        self.interviewee = make_interviewee(self.driver)
        self.other_driver = make_user("driver")
        self.other_interviewee = make_interviewee(self.other_driver)

    def auth(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.settings, user.id)}"}


@pytest.fixture
def people(app, settings: Settings) -> People:
    return People(settings)


hours = itertools.count()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def slot(start: datetime | None = None, minutes: int = 30) -> tuple[str, str]:
    """A slot of `minutes` from `start`, or from a fresh hour no other test uses."""
    start = start or datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=next(hours))
    return iso(start), iso(start + timedelta(minutes=minutes))


def interview_body(people: People, start: str | None = None, end: str | None = None, **overrides):
    if start is None:
        start, end = slot()
    fields = {
        "interviewee_id": people.interviewee.id,
        "interviewer_id": people.interviewer.id,
        "kind": "video_call",
        "location": "https://zoom.com",
        "start_at": start,
        "end_at": end,
    }
    fields.update(overrides)
    return {"interview": fields}


def book(client, people: People, start: str | None = None, end: str | None = None,
         **overrides) -> dict:
    """Create an interview through the API as the coordinator; return its JSON."""
    response = client.post("/api/v1/interviews",
                           json=interview_body(people, start, end, **overrides),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 200, response.text
    return response.json()["interview"]


PAST = datetime(2020, 1, 1, tzinfo=UTC)
past_hours = itertools.count()


def book_past(client, people: People) -> dict:
    """An interview whose start has passed (so it may be completed once confirmed)."""
    return book(client, people, *slot(PAST + timedelta(hours=next(past_hours))))


def bring_to(client, people: People, interview: dict, status: str) -> dict:
    """Walk an interview to `status` through the API."""
    steps = {
        "pending": [],
        "confirmed": [("confirm", people.driver)],
        "declined": [("decline", people.driver)],
        "cancelled": [("cancel", people.interviewer)],
        "completed": [("confirm", people.driver), ("complete", people.interviewer)],
        "no_show": [("confirm", people.driver), ("no_show", people.interviewer)],
    }[status]
    for action, who in steps:
        response = client.post(f"/api/v1/interviews/{interview['id']}/{action}",
                               headers=people.auth(who))
        assert response.status_code == 200, response.text
        interview = response.json()["interview"]
    return interview


@contextlib.contextmanager
def serving(database_url: str, workers: int = 2, ready_path: str = "/readyz",
            env: dict[str, str] | None = None, stderr=None, options: tuple[str, ...] = ()):
    """Run `interviews serve` on a free port; yield (base URL, process); stop it after.

    `env` adds to (or overrides) the server's environment, `options` to its command line.
    Its log lines (one a request) go to `stderr`, a file, or a temporary file when not given:
    never a pipe nobody reads, which would stall the server once full."""
    log_file = stderr or tempfile.TemporaryFile()  # noqa: SIM115 (closed at the end)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "INTERVIEWS_DATABASE_URL": database_url, "INTERVIEWS_JWT_SECRET": SECRET,
           "INTERVIEWS_ENV": "production", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port),
         "--workers", str(workers), *options],
        env=env, stdout=subprocess.DEVNULL, stderr=log_file,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + ready_path, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log_file.seek(0)
                pytest.fail("the server did not start: " + log_file.read().decode()[-2000:])
            time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        if stderr is None:
            log_file.close()


def pytest_terminal_summary(terminalreporter) -> None:
    """After the run (whatever -s says): how many fuzz cases reached each operation's 2xx."""
    fuzz = sys.modules.get("tests.test_schemathesis")
    if fuzz is not None and fuzz.reached:
        terminalreporter.write_sep("-", "schemathesis: cases and 2xx answers per operation")
        for line in fuzz.success_table():
            terminalreporter.write_line(line)
