"""`make run`: one process prepares the demo and says what to do next; no deprecation noise."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import httpx
import jwt

from tests.helpers.people import SECRET
from tests.helpers.servers import serving

QUIET_UNLESS_DEPRECATED = {"PYTHONWARNINGS": "default::DeprecationWarning"}  # show every one


def interviews(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **QUIET_UNLESS_DEPRECATED, "INTERVIEWS_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
           "INTERVIEWS_JWT_SECRET": SECRET, "INTERVIEWS_ENV": "production"}
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_demo_prepares_everything_in_one_process_on_one_screen(tmp_path):
    result = interviews(tmp_path, "demo", "--port", "18999")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning of any kind
    lines = result.stdout.splitlines()
    assert len(lines) <= 30
    exports = dict(line.strip().removeprefix("export ").split("=", 1)
                   for line in lines if line.strip().startswith("export "))
    subjects = {var: jwt.decode(token, SECRET, algorithms=["HS256"])["sub"] for var, token in exports.items()}
    assert subjects == {"COORDINATOR": "1015", "INTERVIEWER": "1014", "DRIVER": "1012"}
    assert "migrated (0001_initial" in result.stdout
    assert "http://127.0.0.1:18999/api/v1/interviews/" in result.stdout
    assert "http://127.0.0.1:18999/api/v1/ui/" in result.stdout
    again = interviews(tmp_path, "demo")
    assert again.returncode == 0 and "schema up to date" in again.stdout


def test_token_issue_takes_several_users(tmp_path):
    interviews(tmp_path, "migrate")
    one = interviews(tmp_path, "token", "issue", "1015")
    assert jwt.decode(one.stdout.strip(), SECRET, algorithms=["HS256"])["sub"] == "1015"
    several = interviews(tmp_path, "token", "issue", "1015", "1012").stdout.splitlines()
    assert [line.split(" ")[0] for line in several] == ["1015", "1012"]
    assert [jwt.decode(line.split(" ")[1], SECRET, algorithms=["HS256"])["sub"] for line in several] == ["1015", "1012"]


def test_the_server_prints_no_deprecation_warning(database_url, monkeypatch):
    for name, value in QUIET_UNLESS_DEPRECATED.items():
        monkeypatch.setenv(name, value)
    with tempfile.TemporaryFile() as log, serving(database_url, workers=2, stderr=log) as (base, _):
        assert httpx.get(base + "/api/v1/openapi.json").status_code == 200
        log.seek(0)
        stderr = log.read().decode()
    assert "Started server process" in stderr  # the log is there ...
    assert "DeprecationWarning" not in stderr  # ... without deprecations
