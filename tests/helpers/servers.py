"""Real servers for tests: a fresh database, `interviews serve` on a free port, and a
hammer of concurrent requests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.helpers.people import SECRET


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


def hammer(base: str, requests: list[tuple], path: str = "/api/v1/interviews") -> Counter:
    """Send every (headers, body[, method, path]) at once from many threads; count statuses."""
    with httpx.Client(base_url=base, timeout=30) as http:
        def send(item):
            headers, body, method, target = (*item, "POST", path)[:4]
            return http.request(method, target, json=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            return Counter(pool.map(send, requests))
