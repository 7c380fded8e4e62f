"""What metrics + the JSON request log, and CORS, cost per request: in-process, same run.

    .venv/bin/python bench/observability_cost.py [--requests 500] [--rounds 7] [--multiprocess]

Drives GET /api/v1/interviews/{id} (show) through the ASGI app with httpx's ASGITransport,
one request at a time, in interleaved rounds: everything on; the `ObserveMiddleware` middleware
(metrics, log line, /metrics) bypassed; `CorsMiddleware` bypassed. Log lines are rendered in
full and written to /dev/null. Prints the median µs/request of each mode over the rounds and
the median per-round difference. On a shared machine the numbers are noisy: compare within a run.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "--multiprocess" in sys.argv:  # as `interviews serve` runs it; set before the import
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="obs-cost-metrics-")

import httpx

from db.connection import migrate
from db.models import Interviewee, User, database
from handlers.platform import observability
from handlers.platform.app import create_app
from handlers.platform.auth import issue_token
from handlers.platform.cors import CorsMiddleware
from handlers.platform.settings import Settings

SECRET = "bench-secret-that-is-long-enough-for-hs256"


async def passthrough(self, scope, receive, send):
    await self.app(scope, receive, send)


async def run(requests: int, rounds: int, log_stream) -> None:
    directory = tempfile.mkdtemp(prefix="obs-cost-")
    settings = Settings(database_url=f"sqlite:///{directory}/bench.db", jwt_secret=SECRET,
                        env="production", cors_origins=("https://front.example",))
    app = create_app(settings)
    observability.configure_logging("info", log_stream)
    migrate()
    with database.connection_context():
        User.create(id=1, title="coordinator", role="coordinator")
        User.create(id=2, title="interviewer", role="interviewer")
        driver = User.create(id=3, title="driver", role="driver")
        Interviewee.create(id=4, driver=driver, kind="interview", currency="GBP")
    headers = {"Authorization": f"Bearer {issue_token(settings, 1)}",
               "Origin": "https://front.example"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        created = await http.post("/api/v1/interviews", headers=headers, json={"interview": {
            "interviewee_id": 4, "interviewer_id": 2, "kind": "video_call",
            "location": "https://zoom.com", "start_at": "2031-01-01T08:00:00Z",
            "end_at": "2031-01-01T08:30:00Z"}})
        assert created.status_code == 200, created.text
        path = created.headers["location"]

        async def batch() -> float:
            started = time.process_time()  # CPU of this process, all threads: less noisy
            for _ in range(requests):
                response = await http.get(path, headers=headers)
                assert response.status_code == 200
            return (time.process_time() - started) / requests * 1e6

        originals = {"observe": observability.ObserveMiddleware.__call__,
                     "cors": CorsMiddleware.__call__}

        def mode(name: str) -> None:
            observability.ObserveMiddleware.__call__ = (
                passthrough if name == "observe off" else originals["observe"])
            CorsMiddleware.__call__ = passthrough if name == "cors off" else originals["cors"]

        modes = ("all on", "observe off", "cors off")
        for name in modes:  # warm-up
            mode(name)
            await batch()
        timings: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(rounds):
            for name in modes:
                mode(name)
                timings[name].append(await batch())
        mode("all on")
    print(f"{requests} show requests x {rounds} interleaved rounds, in-process, process CPU time "
          "(noisy machine: medians over rounds)")
    for name in modes:
        print(f"  {name:12} median {statistics.median(timings[name]):8.1f} µs/request "
              f"(rounds: {', '.join(f'{t:.0f}' for t in timings[name])})")
    for name, what in (("observe off", "metrics + JSON log line"), ("cors off", "CORS")):
        deltas = [on - off for on, off in zip(timings["all on"], timings[name])]
        print(f"  {what}: median per-round cost {statistics.median(deltas):6.1f} µs/request")
    await isolated(rounds)


async def isolated(rounds: int, calls: int = 20_000) -> None:
    """Each middleware alone around an app that answers at once: its own CPU per request."""
    response_headers = [(b"content-type", b"application/json"), (b"etag", b'"1-1"'),
                        (b"content-length", b"2")]

    async def endpoint(scope, receive, send):
        scope["extensions"]["connexion_routing"] = {"operation_id": "showInterview"}
        scope["extensions"]["connexion_context"] = {"user": "1"}
        await send({"type": "http.response.start", "status": 200,
                    "headers": list(response_headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message):
        pass

    def scope() -> dict:
        return {"type": "http", "method": "GET", "path": "/api/v1/interviews/1",
                "query_string": b"", "extensions": {"request_id": "r-1"},
                "headers": [(b"host", b"bench"), (b"authorization", b"Bearer x"),
                            (b"origin", b"https://front.example"), (b"accept", b"*/*")]}

    apps = {"bare": endpoint,
            "ObserveMiddleware": observability.ObserveMiddleware(endpoint, production=True),
            "CorsMiddleware": CorsMiddleware(endpoint, origins=("https://front.example",))}
    timings: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            started = time.process_time()
            for _ in range(calls):
                await app(scope(), receive, send)
            timings[name].append((time.process_time() - started) / calls * 1e6)
    bare = statistics.median(timings["bare"])
    print(f"each middleware alone, {calls} calls x {rounds} rounds, CPU time (medians):")
    for name in ("ObserveMiddleware", "CorsMiddleware"):
        print(f"  {name:8} {statistics.median(timings[name]) - bare:6.1f} µs/request over a bare "
              f"app ({bare:.1f} µs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--multiprocess", action="store_true",
                        help="prometheus-client's multiprocess mode (mmap files), as served")
    args = parser.parse_args()
    with open(os.devnull, "w") as devnull:
        asyncio.run(run(args.requests, args.rounds, devnull))


if __name__ == "__main__":
    main()
