"""Webhooks' cost and lag: create requests/s without and with 2 webhooks, delivery lag.

Serves the product as `interviews serve` does (SQLite, WAL, synchronous=FULL, delivery worker
in every process), drives `POST /api/v1/interviews` from an asyncio client for a few seconds
with no webhook, then again with 2 webhooks subscribed to everything (a receiver on
loopback), then with the delivery workers switched off (the outbox's own cost on create, as
when `interviews deliver` runs on another machine), and reports the rates and the delivery
lag from the event's `occurred_at` (written in the change's transaction, just before its
commit) to its receipt. `--postgresql URL` runs it on a fresh PostgreSQL database instead.
Everything it starts, it stops. A benchmark, not a test: numbers depend on the machine.

`--open-loop` instead measures at a fixed arrival rate (default: half the closed-loop
saturation without webhooks, measured first; `--rate` sets it): creates are sent on a
schedule whatever the answers (latency counted from each one's scheduled time), with 2
webhooks switched off and on in turn (off, on, off, on: a drifting machine weighs on both
arms; each "on" ends when its deliveries have arrived), and it reports create p50/p99 of
both, the lag from commit to arrival, and the deliveries received once, twice or never (by
event id and webhook).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import Server, environment, interviews
from tests.webhook_receiver import free_port

slots = itertools.count()
BASE = datetime(2032, 1, 1, tzinfo=UTC)


def body() -> dict:
    start = BASE + timedelta(minutes=30 * next(slots))
    return {"interview": {"interviewee_id": 289, "interviewer_id": 1014, "kind": "phone_call",
                          "start_at": start.isoformat(),
                          "end_at": (start + timedelta(minutes=30)).isoformat()}}


class Tally:
    """Creates answered: how many 200s, how many not, and each one's latency."""

    def __init__(self) -> None:
        self.done, self.errors, self.latencies = 0, 0, []

    async def create(self, client: httpx.AsyncClient, since: float) -> None:
        """POST one interview; its latency counted from `since`."""
        response = await client.post("/api/v1/interviews", json=body())
        self.latencies.append(time.monotonic() - since)
        if response.status_code == 200:
            self.done += 1
        else:
            self.errors += 1

    def percentile_ms(self, share: float) -> float:
        return 1000 * percentile(self.latencies, share)


async def drive(base: str, token: str, seconds: float, connections: int) -> dict:
    """Create interviews from `connections` concurrent clients for `seconds`."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10,
                                 limits=httpx.Limits(max_connections=connections)) as client:
        async def one_client() -> None:
            while time.monotonic() < deadline:
                await tally.create(client, time.monotonic())

        began = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(connections)))
        elapsed = time.monotonic() - began
    return {"rps": tally.done / elapsed, "ok": tally.done, "errors": tally.errors,
            "p50_ms": tally.percentile_ms(0.5), "p99_ms": tally.percentile_ms(0.99)}


def merged(runs: list[dict]) -> dict:
    """Paced runs of one arm as one: their creates together."""
    latencies = sorted(x for run in runs for x in run["latencies"])
    return {"rate": runs[0]["rate"], "ok": sum(run["ok"] for run in runs),
            "errors": sum(run["errors"] for run in runs),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 2),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 2)}


async def pace(base: str, token: str, rate: float, seconds: float) -> dict:
    """Open loop: `rate` creates a second for `seconds`, each sent at its scheduled time
    whether or not earlier ones were answered; latency from the scheduled time."""
    tally = Tally()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30,
                                 limits=httpx.Limits(max_connections=512)) as client:
        began, tasks = time.monotonic(), []
        for n in range(int(rate * seconds)):
            scheduled = began + n / rate
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            tasks.append(asyncio.create_task(tally.create(client, scheduled)))
        await asyncio.gather(*tasks)
    return {"rate": rate, "ok": tally.done, "errors": tally.errors,
            "latencies": tally.latencies}


def subscribe(base: str, token: str, url: str) -> int:
    response = httpx.post(base + "/api/v1/webhooks", json={"webhook": {"url": url}},
                          headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()["webhook"]["id"]


def switch(base: str, token: str, hooks: list[int], enabled: bool) -> None:
    for hook in hooks:
        response = httpx.patch(f"{base}/api/v1/webhooks/{hook}",
                               json={"webhook": {"enabled": enabled}},
                               headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()


def receive(port: int, log_path: str) -> None:
    """A receiver in a process of its own (not sharing the load generator's GIL): HTTP/1.1
    with keep-alive on asyncio streams, as cheap as a receiver gets, so that the cores it
    shares with the API measure the API. One line per request, `occurred_at received_at id
    path`, appended to `log_path`."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                received_at = time.time()
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = next(int(line.split(":", 1)[1]) for line in lines[1:]
                              if line.lower().startswith("content-length:"))
                event = json.loads(await reader.readexactly(length))
                log.write(f"{event['occurred_at']} {received_at} {event['id']} {path}\n")
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    with open(log_path, "a", buffering=1) as log:
        asyncio.run(main())


def arrived(received_log: Path, expected: int, timeout: float = 60) -> None:
    """Wait until `expected` deliveries are in the receiver's log (or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (not received_log.exists() or len(
            received_log.read_text().splitlines()) < expected):
        time.sleep(0.1)


def lags_of(received_log: Path) -> tuple[list[float], dict[tuple[str, str], int]]:
    """Seconds from each event's occurred_at to its arrival, and arrivals per (event, hook)."""
    lags, arrivals = [], {}
    for line in received_log.read_text().splitlines():
        occurred_at, received_at, event_id, path = line.split()
        lags.append(float(received_at) - datetime.fromisoformat(occurred_at).timestamp())
        arrivals[(event_id, path)] = arrivals.get((event_id, path), 0) + 1
    return lags, arrivals


def open_loop(env: dict, token: str, port: int, received_log: Path,
              args: argparse.Namespace) -> dict:
    deliverer = None
    if args.deliver_elsewhere:
        env = env | {"INTERVIEWS_WEBHOOK_DELIVERY": "0"}
        deliverer = subprocess.Popen([sys.executable, "-m", "handlers.cli", "deliver"], env=env,
                                     cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
    server = Server("product", env, args.workers)
    try:
        asyncio.run(drive(server.base, token, 1, args.connections))  # warm-up
        saturation = asyncio.run(drive(server.base, token, args.seconds, args.connections))
        rate = args.rate or round(saturation["rps"] / 2, 1)
        # The two arms alternate (without, with, without, with; half the time each), so that
        # a machine whose speed drifts weighs on both alike; between them the webhooks are
        # switched off and on, and a switched-off webhook gets no deliveries.
        hooks = [subscribe(server.base, token, f"http://127.0.0.1:{port}/hook/{n}")
                 for n in (1, 2)]
        arms: dict[bool, list[dict]] = {False: [], True: []}
        for enabled in (False, True, False, True):
            switch(server.base, token, hooks, enabled)
            arms[enabled].append(asyncio.run(pace(server.base, token, rate, args.seconds / 2)))
            if enabled:  # everything arrives before the webhooks go off (else it would wait)
                arrived(received_log, 2 * sum(run["ok"] for run in arms[True]))
        without, with_hooks = (merged(arms[False]), merged(arms[True]))
        expected = 2 * with_hooks["ok"]
        time.sleep(1)  # a duplicate would come now, if any
    finally:
        server.stop()
        if deliverer is not None:
            deliverer.terminate()
            deliverer.wait(timeout=30)
    lags, arrivals = lags_of(received_log)
    return {
        "database": "postgresql" if args.postgresql else "sqlite", "workers": args.workers,
        "delivery": "one `interviews deliver` process" if deliverer else "in every worker",
        "seconds": args.seconds, "closed_loop_saturation_rps": round(saturation["rps"], 1),
        "rate": rate, "create_without_webhooks": without, "create_with_2_webhooks": with_hooks,
        "create_p50_increase_percent": round(
            100 * (with_hooks["p50_ms"] / without["p50_ms"] - 1), 1),
        "deliveries_expected": expected, "received_once": sum(
            1 for n in arrivals.values() if n == 1),
        "received_more_than_once": sum(1 for n in arrivals.values() if n > 1),
        "never_received": expected - len(arrivals),
        "lag_p50_ms": round(1000 * statistics.median(lags), 1) if lags else None,
        "lag_p99_ms": round(1000 * percentile(lags, 0.99), 1) if lags else None,
    }


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
    parser.add_argument("--open-loop", action="store_true",
                        help="a fixed arrival rate (see the module's docstring)")
    parser.add_argument("--rate", type=float, help="creates per second (with --open-loop)")
    parser.add_argument("--deliver-elsewhere", action="store_true",
                        help="with --open-loop: no delivery in the API's processes; one "
                             "`interviews deliver` process beside them")
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
        if args.open_loop:
            print(json.dumps(open_loop(env, token, port, received_log, args), indent=2))
            receiver.kill()
            return
        server = Server("product", env, args.workers)
        base = server.base
        try:
            asyncio.run(drive(base, token, 1, args.connections))  # warm-up
            without = asyncio.run(drive(base, token, args.seconds, args.connections))
            for _ in range(2):
                subscribe(base, token, f"http://127.0.0.1:{port}/hook")
            with_hooks = asyncio.run(drive(base, token, args.seconds, args.connections))
            expected = 2 * with_hooks["ok"]
            arrived(received_log, expected)
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
        lags, _ = lags_of(received_log)
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
