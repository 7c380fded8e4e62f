"""`make run`: one process prepares the demo and says what to do next; no deprecation noise."""
from __future__ import annotations

import hashlib
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jwt
import pytest

from tests.helpers.people import SECRET
from tests.helpers.servers import serving

REPO = Path(__file__).resolve().parents[1]
COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # a terminal's colour codes
BOOKING_LINK = re.compile(r"(?P<base>http://[\w.:]+)/booking/#request=(?P<request>\d+)"
                          r"&token=(?P<token>[\w.-]+)")

QUIET_UNLESS_DEPRECATED = {"PYTHONWARNINGS": "default::DeprecationWarning"}  # show every one


def interviews(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **QUIET_UNLESS_DEPRECATED,
           "INTERVIEWS_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
           "INTERVIEWS_JWT_SECRET": SECRET, "INTERVIEWS_ENV": "production"}
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_demo_prepares_everything_in_one_process_on_one_screen(tmp_path):
    result = interviews(tmp_path, "demo", "--port", "18999")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning of any kind
    lines = result.stdout.splitlines()
    assert len(lines) <= 30
    exports = dict(line.strip().removeprefix("export ").split("=", 1)
                   for line in lines if line.strip().startswith("export "))
    subjects = {var: jwt.decode(token, SECRET, algorithms=["HS256"])["sub"]
                for var, token in exports.items()}
    assert subjects == {"COORDINATOR": "1015", "INTERVIEWER": "1014", "DRIVER": "1012"}
    assert "migrated (0001_initial" in result.stdout
    assert "http://127.0.0.1:18999/api/v1/interviews/" in result.stdout
    assert "http://127.0.0.1:18999/api/v1/ui/" in result.stdout
    link = BOOKING_LINK.search(result.stdout)
    assert link and link["token"] == exports["DRIVER"], result.stdout
    again = interviews(tmp_path, "demo")
    assert again.returncode == 0 and "schema up to date" in again.stdout
    assert BOOKING_LINK.search(again.stdout)["request"] == link["request"]  # the same offer


def test_token_issue_takes_several_users(tmp_path):
    interviews(tmp_path, "migrate")
    one = interviews(tmp_path, "token", "issue", "1015")
    assert jwt.decode(one.stdout.strip(), SECRET, algorithms=["HS256"])["sub"] == "1015"
    several = interviews(tmp_path, "token", "issue", "1015", "1012").stdout.splitlines()
    assert [line.split(" ")[0] for line in several] == ["1015", "1012"]
    assert [jwt.decode(line.split(" ")[1], SECRET, algorithms=["HS256"])["sub"]
            for line in several] == ["1015", "1012"]


def test_the_server_prints_no_deprecation_warning(database_url, monkeypatch):
    for name, value in QUIET_UNLESS_DEPRECATED.items():
        monkeypatch.setenv(name, value)
    with tempfile.TemporaryFile() as log, serving(database_url, workers=2, stderr=log) as (base, _):
        assert httpx.get(base + "/api/v1/openapi.json").status_code == 200
        log.seek(0)
        stderr = log.read().decode()
    assert "Started server process" in stderr  # the log is there ...
    assert "DeprecationWarning" not in stderr  # ... without deprecations


def newcomer_env(**extra: str) -> dict[str, str]:
    """The environment of someone who just cloned: none of ours, no make or venv of an outer run."""
    skip = ("INTERVIEWS_", "PYTHON", "VIRTUAL_ENV", "MAKE", "MFLAGS")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(skip)}, **extra}


@pytest.fixture(scope="session")
def newcomer_venv() -> Path:
    """The venv `make run` builds on a fresh clone: `pip install -e .`, main dependencies only.
    Built once per checkout under the user's cache dir; make reinstalls when pyproject.toml
    is newer than it."""
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "interviews-tests" / f"newcomer-venv-{checkout}"
    built = subprocess.run(["make", f"VENV={venv}", f"{venv}/bin/.installed"], cwd=REPO,
                           env=newcomer_env(), capture_output=True, text=True, timeout=600,
                           check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    extras = subprocess.run([venv / "bin/python", "-c", "import httpx2"], capture_output=True,
                            check=False)
    assert extras.returncode != 0, "the test extra's httpx2 is in the newcomer's venv"
    return venv


def read_until(terminal: int, wanted: str, seconds: float) -> str:
    """What the terminal shows until `wanted` appears (colours removed); fails after `seconds`."""
    shown = ""
    deadline = time.monotonic() + seconds
    while wanted not in shown:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([terminal], [], [], left)[0]:
            pytest.fail(f"{wanted!r} did not appear; the terminal showed:\n{shown}")
        try:
            shown += COLOUR.sub("", os.read(terminal, 65536).decode(errors="replace"))
        except OSError:  # every writer has gone
            pytest.fail(f"{wanted!r} did not appear; the terminal showed:\n{shown}")
    return shown


def test_make_run_in_a_terminal_on_a_fresh_clone(newcomer_venv, tmp_path):
    """`make run` as a newcomer sees it: no warning from either process (demo, serve), then
    readable log lines, not JSON, since the terminal is a developer's."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    leader, follower = pty.openpty()
    env = newcomer_env(INTERVIEWS_DATABASE_URL=f"sqlite:///{tmp_path}/run.db",
                       PYTHONWARNINGS="default::DeprecationWarning")  # every one shown
    process = subprocess.Popen(["make", "run", f"VENV={newcomer_venv}", f"PORT={port}"],
                               cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=follower,
                               stderr=follower, start_new_session=True)
    os.close(follower)
    try:
        screen = read_until(leader, "Uvicorn running on", 120)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        link = BOOKING_LINK.search(screen)
        assert link and link["base"] == f"http://127.0.0.1:{port}", screen
        page = httpx.get(f"{link['base']}/booking/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        candidate = {"Authorization": f"Bearer {link['token']}"}
        offered = httpx.get(f"{link['base']}/api/v1/scheduling_requests/{link['request']}"
                            "/options", headers=candidate, timeout=10)
        assert offered.status_code == 200 and offered.json()["options"], offered.text
        screen += read_until(leader, "path=/healthz", 30)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # make, the server and its worker: our group
        process.wait(timeout=30)
        os.close(leader)
    assert "Warning" not in screen, screen
    served = screen.split("Serving on", 1)[1].splitlines()[1:]
    logged = [line for line in served if line.strip()]
    assert logged and not any(line.lstrip().startswith("{") for line in logged), screen
    assert any(re.search(r"\[info +\] request .*status=200", line) for line in logged), screen
