"""The `interviews` command: migrate, people import, tokens."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.people import SECRET

DEMO = Path(__file__).resolve().parent.parent / "db" / "demo_people.json"


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "INTERVIEWS_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
           "INTERVIEWS_JWT_SECRET": SECRET, "INTERVIEWS_ENV": "production"}

    def interviews(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "handlers.cli", *args], env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    interviews.db = tmp_path / "cli.db"
    return interviews


def rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()


def test_migrate_is_idempotent(run):
    first = run("migrate")
    assert first.returncode == 0 and "0001_initial" in first.stdout
    again = run("migrate")
    assert again.returncode == 0 and "up to date" in again.stdout


def test_people_import_twice_changes_nothing(run):
    run("migrate")
    assert run("people", "import", str(DEMO)).returncode == 0
    before = rows(run.db, "user"), rows(run.db, "interviewee")
    second = run("people", "import", str(DEMO))
    assert second.returncode == 0 and "imported 0 users and 0 interviewees" in second.stdout
    assert (rows(run.db, "user"), rows(run.db, "interviewee")) == before
    assert len(before[0]) == 5 and len(before[1]) == 2


def test_people_import_updates_changed_records(run, tmp_path):
    run("migrate")
    run("people", "import", str(DEMO))
    data = json.loads(DEMO.read_text())
    data["users"][0]["title"] = "Renamed"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    assert "imported 1 users" in run("people", "import", str(changed)).stdout
    assert "Renamed" in [r[1] for r in rows(run.db, "user")]


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["users"][2].pop("role"), "users[2]"),
    (lambda d: d["users"][1].update(role="admin"), "users[1].role"),
    (lambda d: d["interviewees"][1].update(currency="pounds"), "interviewees[1].currency"),
    (lambda d: d["interviewees"][0].update(driver_id=1014), "interviewees[0]"),
])
def test_malformed_people_file_is_refused_whole(run, tmp_path, mutate, where):
    run("migrate")
    data = json.loads(DEMO.read_text())
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = run("people", "import", str(bad))
    assert result.returncode != 0
    assert where in result.stderr and "nothing was imported" in result.stderr
    assert rows(run.db, "user") == [] and rows(run.db, "interviewee") == []


def test_token_issue_and_revoke(run):
    import jwt

    run("migrate")
    token = run("token", "issue", "1015").stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "1015" and claims["scp"] == "user" and claims["aud"] is None
    assert run("token", "revoke", claims["jti"]).returncode == 0
    assert [r[0] for r in sqlite3.connect(run.db).execute(
        "SELECT jti FROM revoked_token")] == [claims["jti"]]


def test_unsafe_settings_stop_the_command(run):
    env = {**os.environ, "INTERVIEWS_ENV": "production", "INTERVIEWS_JWT_SECRET": "short"}
    result = subprocess.run([sys.executable, "-m", "handlers.cli", "migrate"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "INTERVIEWS_JWT_SECRET" in result.stderr
