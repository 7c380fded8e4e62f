"""In-process CPU per request: the app called directly, no server, no sockets.

`python bench/cpu.py [--ab PATCHES]... [--requests N] [--rounds R] [--profile OP]` prints the
CPU time (time.process_time, so other processes on a busy machine do not count) per create,
show and list request, on a fresh SQLite file. Meant for same-run A/B comparisons of the
request pipeline; wall-clock throughput is `make bench`'s job.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# As `interviews serve` runs: multiprocess metrics (chosen when prometheus_client is imported).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="cpu-metrics-"))

from db.connection import migrate
from db.people import import_people
from handlers.platform.app import create_app
from handlers.platform.auth import issue_token
from handlers.platform.settings import Settings

SECRET = "bench-secret-that-is-long-enough-for-hs256"


def create_body(n: int) -> dict:
    start = datetime(2035, 1, 1, tzinfo=UTC) + timedelta(minutes=30 * n)
    end = start + timedelta(minutes=30)
    return {"interview": {"interviewee_id": 289, "interviewer_id": 1014, "kind": "video_call",
                          "location": "https://zoom.com",
                          "start_at": start.isoformat().replace("+00:00", "Z"),
                          "end_at": end.isoformat().replace("+00:00", "Z")}}


class Call:
    """One request straight into the ASGI app: no HTTP client, no sockets."""

    def __init__(self, app, method: str, path: str, headers: dict, body: bytes = b"") -> None:
        self.app, self.body = app, body
        path, _, query = path.partition("?")
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if body:
            raw += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]
        self.scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                      "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                      "query_string": query.encode(), "root_path": "", "headers": raw,
                      "client": ("127.0.0.1", 1), "server": ("bench", 80)}

    async def __call__(self, body: bytes | None = None) -> int:
        messages = [{"type": "http.request", "body": self.body if body is None else body,
                     "more_body": False}]
        status = 0

        async def receive():
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(dict(self.scope), receive, send)
        return status


def toggle(stock: list[str]) -> None:
    """Stock Connexion for the named patches ("all": every one, "response object" included),
    ours for the rest. Patches are class attributes, so this switches them live."""
    from connexion.jsonifier import Jsonifier

    from handlers.platform import connexion_glue as validation

    for name, (owner, attr, patched) in validation.PATCHES.items():
        setattr(owner, attr, validation.STOCK[name] if "all" in stock or name in stock else patched)
    plain = "all" in stock or "response object" in stock
    validation.RememberingJsonifier.dumps = (
        Jsonifier.dumps if plain else validation.RememberingJsonifier.__dict__["_dumps"])


async def run(requests: int, rounds: int, profile: str | None,
              arms: list[list[str]], only: list[str]) -> list[dict[str, float]]:
    settings = Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/cpu.db", jwt_secret=SECRET,
                        env="production", rate_limit="999999999/minute")
    # Production as served: CORS, the rate limiter (on, never reached), metrics, JSON logs
    # (to stderr: send it to /dev/null to keep the output readable).
    app = create_app(settings)
    from handlers.platform import connexion_glue as validation

    validation.RememberingJsonifier._dumps = validation.RememberingJsonifier.dumps
    migrate()
    import_people(json.loads((ROOT / "db" / "demo_people.json").read_text()))
    headers = {"Authorization": f"Bearer {issue_token(settings, 1015)}",
               "Accept": "application/json"}
    counter = iter(range(10**9))
    create = Call(app, "POST", "/api/v1/interviews", headers, b"{}")
    show = Call(app, "GET", "/api/v1/interviews/1", headers)
    listing = Call(app, "GET", "/api/v1/interviews?limit=25", headers)
    ops = {
        "create": lambda: create(json.dumps(create_body(next(counter))).encode()),
        "show": show,
        "list": listing,
    }
    for _ in range(30):  # enough rows for a full page; warms every code path
        assert await ops["create"]() == 200
    ops = {op: call for op, call in ops.items() if op in only}
    best: list[dict[str, float]] = [{} for _ in arms]
    # Arms alternate round by round; the best round of each is the least disturbed by the
    # other processes on the machine.
    for _ in range(rounds):
        for arm, stock in enumerate(arms):
            toggle(stock)
            for op, call in ops.items():
                for _ in range(10):
                    assert await call() == 200
                profiler = cProfile.Profile() if op == profile else None
                if profiler:
                    profiler.enable()
                started = time.process_time()
                for _ in range(requests):
                    await call()
                spent = (time.process_time() - started) / requests * 1e6
                best[arm][op] = min(best[arm].get(op, spent), spent)
                if profiler:
                    profiler.disable()
                    stats = pstats.Stats(profiler).sort_stats(os.environ.get("CPU_SORT", "tottime"))
                    stats.print_stats(int(os.environ.get("CPU_LINES", "40")))
                    if os.environ.get("CPU_CALLERS"):
                        stats.print_callers(os.environ["CPU_CALLERS"])
                    profile = None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=int(os.environ.get("CPU_REQUESTS", "300")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("CPU_ROUNDS", "8")))
    parser.add_argument("--profile", choices=["create", "show", "list"])
    parser.add_argument("--ab", action="append", default=[], metavar="PATCHES",
                        help="an arm that leaves these patches out (comma-separated names as in "
                        "handlers.platform.connexion_glue.PATCHES, 'response object', or 'all'); "
                        "repeatable. "
                        "Without it: one arm with every patch.")
    parser.add_argument("--ops", default="create,show,list")
    args = parser.parse_args()
    arms = [[name for name in arm.split(",") if name] for arm in args.ab] + [[]]
    results = asyncio.run(run(args.requests, args.rounds, args.profile, arms, args.ops.split(",")))
    for arm, best in zip(arms, results):
        print(f"stock for [{', '.join(arm) or 'nothing'}]:",
              " ".join(f"{op}={us:.0f}us" for op, us in best.items()))
    print(f"(CPU per request, in-process, best of {args.rounds} alternating rounds of "
          f"{args.requests} requests)")


if __name__ == "__main__":
    main()
