"""Fixtures: one app per test session on a fresh database, people made per test."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from db.connection import migrate, open_database
from db.people import import_people
from db.webhooks import Delivery, Webhook
from handlers.platform.app import create_app
from handlers.platform.settings import Settings
from tests.helpers.fuzz import DEMO
from tests.helpers.people import SECRET, People
from tests.helpers.servers import backend_url


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


@pytest.fixture
def no_webhooks(app):
    """Each test starts and ends with no webhook, so deliveries are only its own."""
    from db.models import database

    def clear() -> None:
        with database.connection_context():
            Delivery.delete().execute()
            Webhook.delete().execute()

    clear()
    yield
    clear()


@pytest.fixture
def people(app, settings: Settings) -> People:
    return People(settings)


def pytest_terminal_summary(terminalreporter) -> None:
    """After the run (whatever -s says): how many fuzz cases reached each operation's 2xx."""
    fuzz = sys.modules.get("tests.test_schemathesis")
    if fuzz is not None and fuzz.reached:
        terminalreporter.write_sep("-", "schemathesis: cases and 2xx answers per operation")
        for line in fuzz.success_table():
            terminalreporter.write_line(line)


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
    open_database(settings.database_url, max_connections=settings.threads + 8)  # the session's
    next(fresh, None)
