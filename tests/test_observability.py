"""/metrics (right across worker processes, closed in production) and the JSON request log
(one line a request, never a token, secret or body)."""
from __future__ import annotations

import glob
import io
import json
import os
import re
import select
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from handlers.platform import auth, observability
from handlers.platform.app import create_app
from handlers.platform.settings import Settings, SettingsError
from tests.helpers.booking import interview_body, slot
from tests.helpers.people import SECRET, People
from tests.helpers.servers import serving

METRICS_TOKEN = "metrics-token-0123456789abcdef"
COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # a terminal's colour codes


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def count(text: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= ls)


def served_by_pid(metrics_dir: str, operation: str) -> dict[str, float]:
    """Per worker process: the requests it counted for `operation` (from its sample file)."""
    counts: dict[str, float] = {}
    for path in glob.glob(os.path.join(metrics_dir, "counter_*.db")):
        pid = path.rsplit("_", 1)[1].removesuffix(".db")
        for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(path):
            _name, sample, labels, _help = json.loads(key)
            if sample == "interviews_requests_total" and labels.get("operation_id") == operation:
                counts[pid] = counts.get(pid, 0) + value
    return counts


def test_metrics_add_up_across_workers(database_url, people: People, tmp_path):
    """Requests on fresh connections until both workers served some; every scrape, whichever
    worker answers it, counts them all."""
    headers = people.auth(people.coordinator)
    scrape_headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    log_path = tmp_path / "server.log"
    env = {"INTERVIEWS_METRICS_TOKEN": METRICS_TOKEN, "TMPDIR": str(tmp_path)}
    with open(log_path, "wb") as log_file, \
            serving(database_url, workers=2, env=env, stderr=log_file) as (base, _):
        [metrics_dir] = glob.glob(str(tmp_path / "interviews-metrics-*"))

        def show_me(_):
            return httpx.get(base + "/api/v1/me", headers=headers, timeout=30).status_code

        sent = 0
        with ThreadPoolExecutor(max_workers=6) as pool:
            while sent < 600 and len(served_by_pid(metrics_dir, "showMe")) < 2:
                assert set(pool.map(show_me, range(30))) == {200}
                sent += 30
        per_worker = served_by_pid(metrics_dir, "showMe")
        assert len(per_worker) == 2, f"one worker took all {sent} requests"
        assert sum(per_worker.values()) == sent

        booking = interview_body(people)
        for expected in (200, 409):  # booked, then the same slot again
            response = httpx.post(base + "/api/v1/interviews", json=booking, headers=headers)
            assert response.status_code == expected

        scrapes = [httpx.get(base + "/metrics", headers=scrape_headers) for _ in range(6)]
        refused = httpx.get(base + "/metrics")
    assert refused.status_code == 401
    for scrape in scrapes:
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        assert count(scrape.text, "interviews_requests_total", operation_id="showMe",
                     status="200") == sent
        assert count(scrape.text, "interviews_request_duration_seconds_count",
                     operation_id="showMe") == sent
        assert count(scrape.text, "interviews_bookings_total") == 1
        assert count(scrape.text, "interviews_refusals_total", code="overlap") == 1
        assert count(scrape.text, "interviews_db_connections_max") == 2 * 48  # two live workers
    assert count(scrapes[-1].text, "interviews_requests_total", operation_id="metrics") >= 5
    assert not os.path.exists(metrics_dir)  # removed when the server stopped
    # Every line the server wrote, uvicorn's included, is JSON.
    lines = log_path.read_text().splitlines()
    assert lines and all(json.loads(line) for line in lines)
    assert sum(json.loads(line).get("operation_id") == "showMe" for line in lines) == sent


def test_one_worker_removes_its_metrics_directory_on_sigterm(database_url, tmp_path):
    with serving(database_url, workers=1, env={"TMPDIR": str(tmp_path)}) as (_, process):
        assert len(glob.glob(str(tmp_path / "interviews-metrics-*"))) == 1
    assert process.returncode == -15  # still ends as SIGTERM says
    assert glob.glob(str(tmp_path / "interviews-metrics-*")) == []


@pytest.mark.parametrize("env, token, status", [
    ("development", None, 200),              # open while developing
    ("production", None, 404),               # off in production without a metrics token
])
def test_metrics_without_a_token(settings, env, token, status):
    application = create_app(replace(settings, env=env, metrics_token=token))
    with application.test_client() as http:
        response = http.get("/metrics")
    assert response.status_code == status
    if status != 200:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_metrics_in_production_need_the_token(settings):
    application = create_app(replace(settings, metrics_token=METRICS_TOKEN))
    with application.test_client() as http:
        assert http.get("/metrics").status_code == 401
        wrong = {"Authorization": f"Bearer {SECRET}"}
        assert http.get("/metrics", headers=wrong).status_code == 401
        assert http.get("/metrics", headers={"Authorization": METRICS_TOKEN}).status_code == 401
        ok = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200 and "interviews_requests_total" in ok.text
        assert http.post("/metrics").status_code == 405


def metric(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_bookings_refusals_and_pool_use(client, people: People, monkeypatch):
    headers = people.auth(people.coordinator)
    before = (metric("interviews_bookings_total"),
              metric("interviews_refusals_total", code="overlap"))
    in_use_during: list[float] = []
    load_caller = auth.load_caller

    def spying(token_info):
        in_use_during.append(metric("interviews_db_connections_in_use"))
        return load_caller(token_info)

    monkeypatch.setattr(auth, "load_caller", spying)
    body = interview_body(people)
    key = {"Idempotency-Key": "metrics-replay"}
    first = client.post("/api/v1/interviews", json=body, headers={**headers, **key})
    assert first.status_code == 200
    replay = client.post("/api/v1/interviews", json=body, headers={**headers, **key})
    assert replay.headers.get("idempotent-replayed") == "true"  # not a second booking
    assert client.post("/api/v1/interviews", json=body, headers=headers).status_code == 409
    missing = client.get("/api/v1/interviews/999999999", headers=headers)
    assert missing.status_code == 404  # not counted
    assert (metric("interviews_bookings_total"),
            metric("interviews_refusals_total", code="overlap")) == (before[0] + 1, before[1] + 1)
    assert in_use_during and min(in_use_during) >= 1
    assert metric("interviews_db_connections_in_use") == 0


# --- logs ----------------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    stream = io.StringIO()
    observability.configure_logging("info", stream)
    try:
        yield stream
    finally:
        observability.configure_logging("info")


def test_one_json_line_a_request_and_nothing_secret(client, people: People, log_lines, monkeypatch):
    marker = "MARKER-7f3a9c"
    token = people.auth(people.coordinator)["Authorization"].removeprefix("Bearer ")
    headers = {"Authorization": f"Bearer {token}"}
    start, end = slot()
    responses = [
        client.post("/api/v1/interviews", headers=headers,
                    json=interview_body(people, start, end, location=f"https://zoom.com/{marker}")),
        client.post("/api/v1/interviews", headers=headers,  # invalid: the marker in a 400
                    json=interview_body(people, start, end, kind=marker)),
        client.get(f"/api/v1/interviews?kind=video_call&cursor={marker}", headers=headers),
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}{marker}"}),
        client.get("/api/v1/me"),
    ]
    monkeypatch.setattr(auth, "load_caller", lambda info: (_ for _ in ()).throw(
        RuntimeError("the handler broke")))
    responses.append(client.get("/api/v1/me", headers=headers))
    assert [r.status_code for r in responses] == [200, 400, 400, 401, 401, 500]

    text = log_lines.getvalue()  # no httpx line either: not even the test client's (OwnLines)
    for secret in (token, SECRET, marker, METRICS_TOKEN, "Bearer"):
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines()]
    requests = [r for r in records if r["event"] == "request"]
    assert [r["request_id"] for r in requests] == [r.headers["x-request-id"] for r in responses]
    for record, response in zip(requests, responses):
        assert record["status"] == response.status_code
        assert record["level"] == "info" and record["timestamp"].endswith("Z")
        assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
        assert "?" not in record["path"]
    assert [(r["method"], r["path"], r["operation_id"], r["caller"]) for r in requests] == [
        ("POST", "/api/v1/interviews", "createInterview", str(people.coordinator.id)),
        ("POST", "/api/v1/interviews", "createInterview", str(people.coordinator.id)),
        ("GET", "/api/v1/interviews", "listInterviews", str(people.coordinator.id)),
        ("GET", "/api/v1/me", "showMe", None),
        ("GET", "/api/v1/me", "showMe", None),
        ("GET", "/api/v1/me", "showMe", str(people.coordinator.id)),
    ]
    errors = [r for r in records if r["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == responses[-1].headers["x-request-id"]
    assert "RuntimeError: the handler broke" in errors[0]["exception"]
    assert "Traceback" in errors[0]["exception"]


def test_settings_for_metrics_and_logs():
    settings = Settings.from_env({"INTERVIEWS_METRICS_TOKEN": METRICS_TOKEN,
                                  "INTERVIEWS_LOG_LEVEL": "WARNING"})
    assert (settings.metrics_token, settings.log_level) == (METRICS_TOKEN, "warning")
    with pytest.raises(SettingsError, match="INTERVIEWS_METRICS_TOKEN"):
        Settings.from_env({"INTERVIEWS_METRICS_TOKEN": "short"})
    with pytest.raises(SettingsError, match="INTERVIEWS_LOG_LEVEL"):
        Settings.from_env({"INTERVIEWS_LOG_LEVEL": "chatty"})


def test_other_libraries_are_heard_from_warning_only():
    """Even at debug: peewee's queries with their parameters, httpx's URLs stay out."""
    import logging

    stream = io.StringIO()
    observability.configure_logging("debug", stream)
    try:
        logging.getLogger("peewee").debug("('INSERT ...', ['https://x.example/?sig=s3cret'])")
        logging.getLogger("httpx").info("HTTP Request: POST https://x.example/?sig=s3cret")
        logging.getLogger("interviews.delivery").debug("ours")
        logging.getLogger("asyncio").warning("theirs, but worth knowing")
    finally:
        observability.configure_logging("info")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("interviews.delivery", "ours"), ("asyncio", "theirs, but worth knowing")]


def terminal_lines(client, development: bool) -> list[str]:
    """What a request and a warning write to a terminal (a pseudo-terminal's far end)."""
    import logging
    import pty

    leader, follower = pty.openpty()
    with open(follower, "w", encoding="utf-8") as terminal:
        observability.configure_logging("info", terminal, development=development)
        try:
            assert client.get("/healthz").status_code == 200
            logging.getLogger("interviews").warning("a warning, readable")
        finally:
            observability.configure_logging("info")
        # Linux hands a pseudo-terminal's writes to its far end asynchronously: one read right
        # after the writes may hold only the first line. Read until the last one is there.
        written, deadline = "", time.monotonic() + 10
        while "a warning, readable" not in written and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.1)[0]:
                written += os.read(leader, 65536).decode()
    os.close(leader)
    return [line for line in re.sub(COLOUR, "", written).splitlines() if line]


def test_development_logs_in_a_terminal_are_readable(client):
    """structlog's console lines, not JSON, while developing in a terminal."""
    request, warning = terminal_lines(client, development=True)
    assert re.fullmatch(r"\S+Z \[info +\] request +\[interviews\.request\] .*path=/healthz.*",
                        request), request
    assert re.fullmatch(r"\S+Z \[warning *\] a warning, readable +\[interviews\]", warning), warning


def test_pipes_and_production_stay_json(client):
    request, warning = terminal_lines(client, development=False)  # production, in a terminal
    assert json.loads(request)["path"] == "/healthz"
    assert json.loads(warning)["event"] == "a warning, readable"
    stream = io.StringIO()  # development, into a pipe or a file
    observability.configure_logging("info", stream, development=True)
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        observability.configure_logging("info")
    assert json.loads(stream.getvalue())["path"] == "/healthz"


def test_warning_level_drops_request_lines(client):
    stream = io.StringIO()
    observability.configure_logging("warning", stream)
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        observability.configure_logging("info")
    assert stream.getvalue() == ""


def test_a_calendar_feed_token_never_reaches_a_log_line(client, people: People, log_lines):
    url = client.post("/api/v1/me/calendar_feed",
                      headers=people.auth(people.coordinator)).json()["calendar_feed"]["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert client.get(urlsplit(url).path).status_code == 200
    assert client.get("/api/v1/calendar/feeds/not-a-feed-token.ics").status_code in (400, 404)
    text = log_lines.getvalue()
    assert token not in text and "not-a-feed-token" not in text
    assert '"path": "/api/v1/calendar/feeds/{token}.ics"' in text
