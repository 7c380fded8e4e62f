"""Private names of uvicorn and peewee that our code leans on, pinned: pyproject.toml gives the
versions they were checked against, and these tests say what changed when an upgrade breaks
them (handlers/platform/server.py subclasses uvicorn's HttpToolsProtocol; db.prepared.Prepared calls
peewee's `query._get_cursor_wrapper`, and db.prepared.Rows fills a model's `__data__`, `_dirty`
and `__rel__` as peewee's cursor wrapper does: tests/test_compiled_reads.py compares the two).
Also: the protocol and the app factory share the
settings the process read once."""
from __future__ import annotations

import asyncio
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import peewee
import pytest
from packaging.requirements import Requirement
from uvicorn.config import Config
from uvicorn.protocols.http import httptools_impl
from uvicorn.server import ServerState

from handlers.platform import app as factory
from handlers.platform import server, settings

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# What server.py calls or overrides, with the parameters it passes or takes.
PROTOCOL_METHODS = {
    "connection_made": ["transport"],
    "connection_lost": ["exc"],
    "data_received": ["data"],
    "on_message_begin": [],
    "on_headers_complete": [],
    "send_400_response": ["msg"],
}


def declared_range(package: str) -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (found,) = [r for r in map(Requirement, dependencies) if r.name == package]
    return found


@pytest.mark.parametrize("package", ["uvicorn", "peewee"])
def test_the_installed_version_is_in_the_checked_range(package):
    requirement = declared_range(package)
    assert requirement.specifier, f"pyproject.toml gives {package} no version range"
    assert requirement.specifier.contains(version(package)), (
        f"{package} {version(package)} is outside {requirement.specifier}, the range its "
        "private names were checked in: re-check them (this module) and widen the range")


class Transport(asyncio.Transport):
    """Enough of a socket's transport for a protocol to run on."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name, default=None):
        addresses = {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}
        return addresses.get(name, default)

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def no_content(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def connected(protocol_class: type) -> tuple[asyncio.Protocol, Transport]:
    """A protocol made as uvicorn's server makes one, on a transport of ours."""
    config = Config(app=no_content, http=protocol_class, lifespan="off", log_config=None)
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def uvicorn_changes() -> list[str]:
    """What server.py relies on that this uvicorn no longer has or does."""
    changed = []
    stock = httptools_impl.HttpToolsProtocol
    for name, parameters in PROTOCOL_METHODS.items():
        method = getattr(stock, name, None)
        if not callable(method):
            changed.append(f"HttpToolsProtocol.{name} is gone")
        elif (found := list(inspect.signature(method).parameters)[1:]) != parameters:
            changed.append(f"HttpToolsProtocol.{name} takes {found}, not {parameters}")
    status_line = getattr(httptools_impl, "STATUS_LINE", None)
    if not isinstance(status_line, dict) or not all(
            status_line.get(status, b"").startswith(b"HTTP/1.1 %d " % status)
            and status_line[status].endswith(b"\r\n") for status in (400, 408, 431)):
        changed.append("httptools_impl.STATUS_LINE no longer maps a status to its status line")

    calls: list[str] = []

    class Recording(stock):
        def on_message_begin(self) -> None:
            calls.append("on_message_begin")
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            calls.append("on_headers_complete")
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            calls.append("send_400_response")
            super().send_400_response(msg)

    async def run() -> None:
        protocol, _ = connected(Recording)
        for name, kind in (("loop", asyncio.AbstractEventLoop), ("transport", Transport),
                           ("server_state", ServerState)):
            if not isinstance(getattr(protocol, name, None), kind):
                changed.append(f"a connected protocol's `{name}` is not its {kind.__name__}")
        if getattr(protocol, "cycle", "gone") is not None:
            changed.append("a connected protocol's `cycle` is not None before a request")
        if not isinstance(getattr(protocol.server_state, "default_headers", None), list):
            changed.append("ServerState.default_headers is not a list of header pairs")
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        if calls != ["on_message_begin", "on_headers_complete"]:
            changed.append(f"a request's head made the parser call {calls}, not "
                           "on_message_begin then on_headers_complete")
        await asyncio.sleep(0.01)  # the app answers
        if getattr(getattr(protocol, "cycle", None), "response_complete", None) is not True:
            changed.append("`cycle.response_complete` does not say the response was sent")
        protocol.connection_lost(None)
        calls.clear()
        protocol, _ = connected(Recording)
        protocol.data_received(b"\x00 not HTTP\r\n\r\n")
        if calls[-1:] != ["send_400_response"]:
            changed.append(f"what the parser refuses made it call {calls}, ending not with "
                           "send_400_response")
        protocol.connection_lost(None)

    try:
        asyncio.run(run())
    except Exception as error:  # noqa: BLE001 (whatever broke, say so with the rest)
        changed.append(f"a connection could not be served as server.py does it: {error!r}")
    return changed


def test_uvicorn_still_has_what_server_py_relies_on():
    changed = uvicorn_changes()
    assert not changed, (f"uvicorn {version('uvicorn')} changed what "
                         f"handlers/platform/server.py relies on: {'; '.join(changed)}")


def test_our_protocol_answers_a_malformed_request_with_problem_json():
    async def run() -> bytes:
        protocol, transport = connected(server.Protocol)
        protocol.data_received(b"\x00 not HTTP\r\n\r\n")
        protocol.connection_lost(None)
        return b"".join(transport.written)

    written = asyncio.run(run())
    assert written.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"content-type: application/problem+json" in written.lower()
    assert b"x-request-id: " in written.lower()


def test_peewee_still_builds_rows_from_a_cursor_as_prepared_needs():
    """db.prepared.Prepared runs compiled SQL itself and asks the query to turn the cursor into rows
    (joined models included), as `query.execute()` does."""
    wrapper = getattr(peewee.BaseQuery, "_get_cursor_wrapper", None)
    assert callable(wrapper), (f"peewee {version('peewee')} has no BaseQuery._get_cursor_wrapper: "
                               "db.prepared.Prepared needs another way to build rows from a cursor")
    parameters = list(inspect.signature(wrapper).parameters)
    assert parameters == ["self", "cursor"], (
        f"peewee {version('peewee')}: _get_cursor_wrapper takes {parameters}, not (self, cursor)")
    memory = peewee.SqliteDatabase(":memory:")

    class Owner(peewee.Model):
        name = peewee.TextField()

        class Meta:
            database = memory

    class Pet(peewee.Model):
        owner = peewee.ForeignKeyField(Owner)
        name = peewee.TextField()

        class Meta:
            database = memory

    with memory:
        memory.create_tables([Owner, Pet])
        ada = Owner.create(name="Ada")
        Pet.create(owner=ada, name="Rex")
        Pet.create(owner=ada, name="Tom")
        query = Pet.select(Pet, Owner).join(Owner).where(Pet.name != "x").order_by(Pet.name)
        sql, params = query.sql()
        rows = list(query._get_cursor_wrapper(memory.execute_sql(sql, params)))
        expected = [(pet.name, pet.owner.name) for pet in query]
        assert [(pet.name, pet.__rel__["owner"].name) for pet in rows] == expected, (
            f"peewee {version('peewee')}: _get_cursor_wrapper no longer builds the rows (and "
            "their joined models) that executing the query does")


def test_the_factory_and_the_protocol_share_settings_read_once(monkeypatch):
    """The process reads its settings once: `asgi()` and every connection get that instance
    (a test handing its own Settings to create_app keeps them)."""
    reads = []
    real = settings.Settings.from_env
    monkeypatch.setattr(settings.Settings, "from_env",
                        lambda *args: reads.append(1) or real(*args))
    monkeypatch.setattr(factory, "create_app", lambda given=None: given)
    monkeypatch.setenv("INTERVIEWS_JWT_SECRET", "x" * 32)
    monkeypatch.setenv("INTERVIEWS_MAX_HEADER_BYTES", "4096")
    settings.process_settings.cache_clear()
    try:
        shared = factory.asgi()

        async def run() -> list[tuple[int, int]]:
            found = []
            for _ in range(3):
                protocol, _ = connected(server.Protocol)
                found.append((protocol.max_head, protocol.head_seconds))
                protocol.connection_lost(None)
            return found

        assert asyncio.run(run()) == [(4096, shared.header_timeout_seconds)] * 3
        assert shared is settings.process_settings() and shared.max_header_bytes == 4096
        assert len(reads) == 1
    finally:
        settings.process_settings.cache_clear()
