"""Webhooks' cost and lag: create requests/s without and with 2 webhooks, delivery lag.

Serves the product as `interviews serve` does (SQLite, WAL, synchronous=FULL, delivery worker
in every process), drives `POST /api/v1/interviews` from an asyncio client for a few seconds
with no webhook, then again with 2 webhooks subscribed to everything (a receiver on
loopback), then with the delivery workers switched off (the outbox's own cost on create, as
when `interviews deliver` runs on another machine), and reports the rates and the delivery
lag from the event's `occurred_at` (written in the change's transaction, just before its
commit) to its receipt. `--postgresql URL` runs it on a fresh PostgreSQL database instead.
Everything it starts, it stops. A benchmark, not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import Server, environment, interviews
from tests.webhook_receiver import Receiver, free_port

slots = itertools.count()
BASE = datetime(2032, 1, 1, tzinfo=UTC)


def body() -> dict:
    start = BASE + timedelta(minutes=30 * next(slots))
    return {"interview": {"interviewee_id": 289, "interviewer_id": 1014, "kind": "phone_call",
                          "start_at": start.isoformat(),
                          "end_at": (start + timedelta(minutes=30)).isoformat()}}


async def drive(base: str, token: str, seconds: float, connections: int) -> dict:
    """Create interviews from `connections` concurrent clients for `seconds`."""
    done, errors, latencies = 0, 0, []
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10,
                                 limits=httpx.Limits(max_connections=connections)) as client:
        async def one_client() -> None:
            nonlocal done, errors
            while time.monotonic() < deadline:
                began = time.monotonic()
                response = await client.post("/api/v1/interviews", json=body())
                latencies.append(time.monotonic() - began)
                if response.status_code == 200:
                    done += 1
                else:
                    errors += 1

        began = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(connections)))
        elapsed = time.monotonic() - began
    latencies.sort()
    return {"rps": done / elapsed, "ok": done, "errors": errors,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def subscribe(base: str, token: str, url: str) -> None:
    response = httpx.post(base + "/api/v1/webhooks", json={"webhook": {"url": url}},
                          headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()


def receive(port: int, log_path: str) -> None:
    """A receiver in a process of its own (not sharing the load generator's GIL): one line
    per request, `occurred_at received_at`, appended to `log_path`."""
    with open(log_path, "a", buffering=1) as log:
        receiver = Receiver(port=port)
        receiver.start()
        seen = 0
        while True:
            time.sleep(0.05)
            for _, raw, received_at in receiver.requests[seen:]:
                log.write(f"{json.loads(raw)['occurred_at']} {received_at}\n")
                seen += 1


def fresh_postgresql(server: str) -> str:
    """A new, empty database on `server` (left behind for inspection; named by the time)."""
    import psycopg

    name = f"bench_webhooks_{int(time.time())}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("BENCH_SECONDS", "5")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgresql", metavar="URL", default=os.environ.get("BENCH_POSTGRESQL"),
                        help="a PostgreSQL server "
                             "(e.g. postgresql://postgres@127.0.0.1:5432/postgres): "
                             "bench on a fresh database there instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port, received_log = free_port(), Path(tmp) / "received.log"
        receiver = multiprocessing.Process(target=receive, args=(port, str(received_log)),
                                           daemon=True)
        receiver.start()
        env = environment(f"sqlite:///{Path(tmp) / 'bench.db'}") | {
            "INTERVIEWS_WEBHOOK_ALLOW_PRIVATE": "1"}
        if args.postgresql:
            env["INTERVIEWS_DATABASE_URL"] = fresh_postgresql(args.postgresql)
        interviews(env, "migrate")
        interviews(env, "people", "import", str(ROOT / "db" / "demo_people.json"))
        token = interviews(env, "token", "issue", "1015")
        server = Server("product", env, args.workers)
        base = server.base
        try:
            asyncio.run(drive(base, token, 1, args.connections))  # warm-up
            without = asyncio.run(drive(base, token, args.seconds, args.connections))
            for _ in range(2):
                subscribe(base, token, f"http://127.0.0.1:{port}/hook")
            with_hooks = asyncio.run(drive(base, token, args.seconds, args.connections))
            expected = 2 * with_hooks["ok"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not received_log.exists() or len(
                    received_log.read_text().splitlines()) < expected):
                time.sleep(0.2)
        finally:
            server.stop()
            receiver.kill()
        # The outbox's own cost: the same, with the delivery workers elsewhere (not running).
        server = Server("product", env | {"INTERVIEWS_WEBHOOK_DELIVERY": "0"}, args.workers)
        base = server.base
        try:
            asyncio.run(drive(base, token, 1, args.connections))  # warm-up
            outbox_only = asyncio.run(drive(base, token, args.seconds, args.connections))
        finally:
            server.stop()
        lags = []
        for line in received_log.read_text().splitlines():
            occurred_at, received_at = line.split()
            sent = datetime.fromisoformat(occurred_at)
            lags.append(float(received_at) - sent.timestamp())
    print(json.dumps({
        "database": "postgresql" if args.postgresql else "sqlite",
        "connections": args.connections, "workers": args.workers, "seconds": args.seconds,
        "create_without_webhooks": without, "create_with_2_webhooks": with_hooks,
        "throughput_cost_percent": round(100 * (1 - with_hooks["rps"] / without["rps"]), 1),
        "create_with_2_webhooks_delivery_elsewhere": outbox_only,
        "outbox_write_cost_percent": round(100 * (1 - outbox_only["rps"] / without["rps"]), 1),
        "deliveries_expected": expected, "deliveries_received": len(lags),
        "lag_p50_ms": round(1000 * statistics.median(lags), 1) if lags else None,
        "lag_p99_ms": round(1000 * percentile(lags, 0.99), 1) if lags else None,
    }, indent=2))


if __name__ == "__main__":
    main()
