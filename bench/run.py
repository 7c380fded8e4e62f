"""`make bench`: the product against a Starlette ceiling, and the product as history grows.

Three parts, each on SQLite and on PostgreSQL (`BACKENDS`):
1. Ratios: the product and the ceiling (bench/ceiling.py: the same SQL, no validation, no
   framework beyond Starlette), both `--workers N` uvicorn (uvloop, httptools) on their own
   fresh database, driven in turn by wrk at several concurrency levels, operation by
   operation (the ceiling's cells, then ours).
2. Growth: for each size in `SIZES` (1k, 100k, 1M interviews, loaded by bench/load.py in
   SQL), the p50 of every request shape in SHAPES at one connection, one worker; then the
   growth table (largest size ÷ smallest).
3. Create throughput at 16 connections with 1, 2 and 4 workers.
4. Webhooks (bench/webhooks.py): creates at half their saturation rate without and with 2
   webhooks (open loop: create p50 and p99, the lag from commit to arrival, deliveries
   received once, twice or never), then at saturation (closed loop: the throughput cost and
   every delivery arriving after the burst).
SQLite files are WAL with synchronous=FULL; PostgreSQL databases are created and dropped on
`BENCH_PG_URL`. Everything it starts, it stops.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-that-is-long-enough-for-hs256"
COORDINATOR, INTERVIEWER = "1015", "1014"
OPS = {"create": None, "show": "/api/v1/interviews/1", "list": "/api/v1/interviews?limit=25"}


@dataclass(frozen=True)
class Shape:
    """One request the growth table follows: wrk mode, whose token, the path (None: create).
    `page` 2 follows the first page's next_cursor before timing. `body`: what mode `post`
    sends every time. `setup`: (path, body, key) POSTed once before timing; the path's `{id}`
    becomes the new resource's id (`answer[key]["id"]`)."""

    mode: str
    caller: str
    path: str | None = None
    page: int = 1
    body: dict | None = None
    setup: tuple[str, dict, str] | None = None


def two_days_search(*interviewer_ids: int) -> dict:
    """Rounds of 45 minutes with any of these, over two days of 2031 (free of the loaded
    history, so the whole search runs), 0 to 30 minutes apart."""
    return {"interviewee_id": 289, "from": "2031-03-03T08:00:00Z", "to": "2031-03-05T18:00:00Z",
            "rounds": [{"duration_minutes": 45, "interviewer_ids": list(interviewer_ids)}] * 2,
            "gap_minutes": {"min": 0, "max": 30}}


POOL = (1014, 1016, 100001)  # the demo interviewers and one bench/load.py adds


# Add a request shape here (availability, the change feed, ...): one line each.
SHAPES: dict[str, Shape] = {
    "create": Shape("create", COORDINATOR),
    "create with a panel of 4": Shape("create-panel", COORDINATOR),
    "show": Shape("get", COORDINATOR, "/api/v1/interviews/1"),
    "list status=pending (coordinator)": Shape(
        "get", COORDINATOR, "/api/v1/interviews?status=pending&limit=25"),
    "list, second page by interviewee": Shape(
        "get", COORDINATOR, "/api/v1/interviews?interviewee_id=289&limit=25", page=2),
    "list by interviewer (own)": Shape("get", INTERVIEWER, "/api/v1/interviews?limit=25"),
    "availability (2 interviewers, 7 days)": Shape(
        "get", COORDINATOR, "/api/v1/availability?interviewee_id=289&interviewer_id=1014"
        "&interviewer_id=1016&from=2025-12-01T00:00:00Z&to=2025-12-08T00:00:00Z"
        "&duration_minutes=30&limit=100"),
    "availability mode=all (2 interviewers, 7 days)": Shape(
        "get", COORDINATOR, "/api/v1/availability?interviewee_id=289&interviewer_id=1014"
        "&interviewer_id=1016&from=2025-12-01T00:00:00Z&to=2025-12-08T00:00:00Z"
        "&duration_minutes=30&limit=100&mode=all"),
    "change feed (first page)": Shape("get", COORDINATOR, "/api/v1/events?limit=50"),
    "hold (one slot)": Shape("hold", COORDINATOR),
    "loop search (2 rounds x 3, 2 days)": Shape(
        "post", COORDINATOR, "/api/v1/loops/search", body={"search": two_days_search(*POOL)}),
    "scheduling-request options (2 rounds x 3, 2 days)": Shape(
        "get", COORDINATOR, "/api/v1/scheduling_requests/{id}/options", setup=(
            "/api/v1/scheduling_requests", {"scheduling_request": {
                **two_days_search(*POOL), "kind": "phone_call",
                "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}},
            "scheduling_request")),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Backend:
    """Fresh databases of one kind: SQLite files in a temporary directory, or PostgreSQL
    databases made on the server at `pg_url` and dropped afterwards."""

    def __init__(self, kind: str, workdir: Path, pg_url: str) -> None:
        self.kind, self.workdir, self.pg_url, self.made = kind, workdir, pg_url, []

    def fresh(self, label: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / label}.db"
        import psycopg

        name = f"interviews_bench_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.pg_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.pg_url.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        if not self.made:
            return
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as admin:
            for name in self.made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(url: str) -> dict[str, str]:
    return {**os.environ, "INTERVIEWS_DATABASE_URL": url, "INTERVIEWS_JWT_SECRET": SECRET,
            "INTERVIEWS_ENV": "production",
            # As deployed: the limiter on, with a limit one caller sending everything never meets.
            "INTERVIEWS_RATE_LIMIT": os.environ.get("INTERVIEWS_RATE_LIMIT", "100000000/minute")}


def interviews(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout.strip()


def prepare(url: str, size: int | None = None) -> dict[str, str]:
    """Migrate `url` with the demo people (and `size` interviews); returns its environment."""
    env = environment(url)
    if size is None:
        interviews(env, "migrate")
        interviews(env, "people", "import", str(ROOT / "db" / "demo_people.json"))
    else:
        subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), url, str(size)], env=env,
                       cwd=ROOT, check=True, capture_output=True)
    return env


class Server:
    """`interviews serve` or the ceiling under uvicorn, on a free port, until stopped."""

    def __init__(self, kind: str, env: dict[str, str], workers: int) -> None:
        port = free_port()
        if kind == "product":
            cmd = [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port),
                   "--workers", str(workers)]
        else:
            cmd = [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(ROOT / "bench"),
                   "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
                   "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        self.process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                httpx.get(self.base + "/api/v1/interviews/1", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{kind} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def wrk(base: str, mode: str, token: str, offset: int, connections: int, seconds: float,
        path: str | None, body: dict | None = None) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
           "-s", str(ROOT / "bench" / "wrk.lua"), base, "--", mode, token, str(offset), path or "/",
           json.dumps(body) if body is not None else ""]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / result["seconds"]
    return result


runs = iter(range(1, 10**9))


def measure(base: str, mode: str, token: str, connections: int, seconds: float,
            path: str | None, body: dict | None = None) -> dict:
    """A 1 s warm-up, then the measured run; each books slots of its own."""
    wrk(base, mode, token, next(runs) * 100_000, connections, 1, path, body)
    return wrk(base, mode, token, next(runs) * 100_000, connections, seconds, path, body)


def ratios(backend: Backend, args: argparse.Namespace) -> list:
    """Ours against the ceiling per operation and concurrency. One server runs at a time:
    both at once could hold more PostgreSQL connections than its default 100."""
    rows = []
    envs, tokens = {}, {}
    for kind in ("ceiling", "product"):
        envs[kind] = prepare(backend.fresh(kind))
        tokens[kind] = interviews(envs[kind], "token", "issue", COORDINATOR)
    for op, path in OPS.items():
        cells: dict[str, dict[int, dict]] = {}
        for kind in ("ceiling", "product"):
            server = Server(kind, envs[kind], args.workers)
            try:
                cells[kind] = {c: measure(server.base, "create" if op == "create" else "get",
                                          tokens[kind], c, args.seconds, path) for c in args.levels}
            finally:
                server.stop()
        for c in args.levels:
            rows.append((backend.kind, op, c, cells["product"][c], cells["ceiling"][c]))
            print(format_row(*rows[-1]), flush=True)
    return rows


def growth(backend: Backend, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """p50 in ms per shape and size, one worker, one connection."""
    table: dict[str, dict[str, float]] = {name: {} for name in SHAPES}
    for label, size in args.sizes:
        started = time.perf_counter()
        env = prepare(backend.fresh(f"n{label.lower()}"), size)
        print(f"[{backend.kind}] loaded {label} in {time.perf_counter() - started:.1f} s",
              flush=True)
        tokens = {who: interviews(env, "token", "issue", who) for who in (COORDINATOR, INTERVIEWER)}
        server = Server("product", env, 1)
        try:
            for name, shape in SHAPES.items():
                path = shape.path
                if shape.setup is not None:
                    where, body, key = shape.setup
                    made = httpx.post(server.base + where, json=body, timeout=30, headers={
                        "Authorization": f"Bearer {tokens[shape.caller]}"})
                    made.raise_for_status()
                    path = path.format(id=made.json()[key]["id"])
                if shape.page == 2:
                    first = httpx.get(server.base + path, timeout=30, headers={
                        "Authorization": f"Bearer {tokens[shape.caller]}"}).json()
                    path += f"&cursor={first['next_cursor']}"
                result = measure(server.base, shape.mode, tokens[shape.caller], 1,
                                 args.growth_seconds, path, shape.body)
                table[name][label] = result["p50_us"] / 1000
                print(f"[{backend.kind}] {label} {name}: p50 {table[name][label]:.2f} ms, "
                      f"errors {result['errors']}", flush=True)
        finally:
            server.stop()
    return table


def workers_sweep(backend: Backend, args: argparse.Namespace) -> dict[int, dict]:
    found = {}
    for workers in args.sweep:
        env = prepare(backend.fresh(f"w{workers}"))
        server = Server("product", env, workers)
        try:
            token = interviews(env, "token", "issue", COORDINATOR)
            found[workers] = measure(server.base, "create", token, 16, args.seconds, None)
        finally:
            server.stop()
        print(f"[{backend.kind}] create, {workers} workers, 16 connections: "
              f"{found[workers]['rps']:.0f} req/s", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    env = os.environ.get
    parser.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", "5")))
    parser.add_argument("--growth-seconds", type=float,
                        default=float(env("BENCH_GROWTH_SECONDS", "3")))
    parser.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "2")))
    parser.add_argument("--concurrency", default=env("BENCH_CONCURRENCY", "1,16,64"))
    parser.add_argument("--sizes", default=env("SIZES", "1k,100k,1M"), help="e.g. 1k,1M; '' skips")
    parser.add_argument("--sweep", default=env("BENCH_SWEEP", "1,2,4"),
                        help="create workers; '' skips")
    parser.add_argument("--backends", default=env("BACKENDS", "sqlite,postgresql"))
    parser.add_argument("--pg-url", default=env("BENCH_PG_URL",
                                                "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--parts", default=env("BENCH_PARTS", "ratios,growth,sweep,webhooks"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "latest.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    sys.path.insert(0, str(ROOT / "bench"))
    from load import size

    args.levels = [int(c) for c in args.concurrency.split(",") if c]
    args.sizes = [(label, size(label)) for label in args.sizes.split(",") if label]
    args.sweep = [int(w) for w in args.sweep.split(",") if w]
    parts = args.parts.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="interviews-bench-"))
    rows, tables, sweeps, hooks = [], {}, {}, {}
    try:
        for kind in args.backends.split(","):
            backend = Backend(kind, workdir, args.pg_url)
            try:
                if "ratios" in parts:
                    rows += ratios(backend, args)
                if "growth" in parts and args.sizes:
                    tables[kind] = growth(backend, args)
                if "sweep" in parts and args.sweep:
                    sweeps[kind] = workers_sweep(backend, args)
                if "webhooks" in parts:
                    hooks[kind] = webhooks(backend, args)
            finally:
                backend.drop_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = render(rows, tables, sweeps, args) + render_webhooks(hooks)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    print("\n" + report)


def webhooks(backend: Backend, args: argparse.Namespace) -> dict:
    """bench/webhooks.py, open loop then closed loop, on this kind of database (its JSON)."""
    command = [sys.executable, str(ROOT / "bench" / "webhooks.py"), "--workers",
               str(args.workers), "--seconds", str(max(args.seconds, 8))]
    if backend.kind == "postgresql":
        command += ["--postgresql", args.pg_url]
    results = {}
    for mode, extra in (("open", ["--open-loop"]), ("closed", [])):
        out = subprocess.run(command + extra, capture_output=True, text=True, check=True).stdout
        results[mode] = json.loads(out[out.index("{"):])
    return results


def render_webhooks(hooks: dict) -> str:
    """Issue 19's webhook targets, each figure with its verdict."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = []
    for backend, result in hooks.items():
        o, c = result["open"], result["closed"]
        plain, hooked = o["create_without_webhooks"], o["create_with_2_webhooks"]
        increase, lag, cost = (o["create_p50_increase_percent"], o["lag_p99_ms"],
                               c["throughput_cost_percent"])
        lines += [
            (f"Webhooks on {backend}, {o['workers']} workers, 2 webhooks per create, receiver "
             "on loopback:"),
            (f"- open loop at {o['rate']}/s (half of {o['closed_loop_saturation_rps']}/s): "
             f"create p50 {plain['p50_ms']} -> {hooked['p50_ms']} ms ({increase:+.1f}%, "
             f"<= +10%: {verdict(increase <= 10)}), p99 {plain['p99_ms']} -> "
             f"{hooked['p99_ms']} ms; lag p50 {o['lag_p50_ms']} ms, p99 {lag} ms (< 1000: "
             f"{verdict(lag is not None and lag < 1000)}); received once "
             f"{o['received_once']} of {o['deliveries_expected']}, more than once "
             f"{o['received_more_than_once']}, never {o['never_received']}"),
            (f"- closed loop at saturation, 16 connections: "
             f"{c['create_without_webhooks']['rps']:.0f} -> "
             f"{c['create_with_2_webhooks']['rps']:.0f} creates/s (cost {cost}%, < 10%: "
             f"{verdict(cost < 10)}); delivered after the burst {c['deliveries_received']} of "
             f"{c['deliveries_expected']}, lag p99 {c['lag_p99_ms']} ms"),
            ""]
    return "\n".join(lines)


def ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def format_row(backend: str, op: str, c: int, ours: dict, ceiling: dict) -> str:
    return (f"| {backend} | {op} | {c} | {ours['rps']:.0f} | {ms(ours['p50_us'])} "
            f"| {ms(ours['p99_us'])} | {ours['errors']} | {ceiling['rps']:.0f} "
            f"| {ms(ceiling['p50_us'])} | {ms(ceiling['p99_us'])} "
            f"| {ceiling['errors']} | {ours['rps'] / ceiling['rps']:.2f} "
            f"| {ours['p99_us'] / max(ceiling['p99_us'], 1):.2f} |")


def verdicts(rows: list) -> list[str]:
    """Issue 12's targets: at 64 connections create >= 0.90 and show, list >= 0.65 of the
    ceiling's req/s, p99 <= 2x, no errors; at 1 connection show p50 within 0.25 ms."""
    lines = []
    for backend, op, c, ours, ceiling in rows:
        p99 = ours["p99_us"] / max(ceiling["p99_us"], 1)
        if c == 64:
            floor = 0.9 if op == "create" else 0.65
            ratio = ours["rps"] / ceiling["rps"]
            ok = ratio >= floor and p99 <= 2 and ours["errors"] == 0
            lines.append(f"- {backend} {op} @64: ratio {ratio:.2f} (>= {floor}), "
                         f"p99 x{p99:.2f} (<= 2), errors {ours['errors']}: "
                         f"{'met' if ok else 'MISSED'}")
        if c == 1 and op == "show":
            gap = (ours["p50_us"] - ceiling["p50_us"]) / 1000
            ok = gap <= 0.25 and p99 <= 2
            lines.append(f"- {backend} show @1: p50 gap {gap:.2f} ms (<= 0.25), "
                         f"p99 x{p99:.2f} (<= 2): {'met' if ok else 'MISSED'}")
    return lines


def render(rows: list, tables: dict, sweeps: dict, args: argparse.Namespace) -> str:
    lines = [
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
         f"Python {platform.python_version()}; {args.workers} workers each; "
         f"{args.seconds:g} s per cell after a 1 s warm-up; wrk -t1."),
        "",
    ]
    if rows:
        lines += [
            ("| backend | op | conns | ours req/s | ours p50 ms | ours p99 ms | ours errors "
             "| ceiling req/s | ceiling p50 ms | ceiling p99 ms | ceiling errors | req/s ratio "
             "| p99 ratio |"),
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(format_row(*row) for row in rows), "", *verdicts(rows), "",
        ]
    for backend, table in tables.items():
        labels = [label for label, _ in args.sizes]
        lines += [(f"Growth on {backend}: p50 ms at 1 connection, 1 worker "
                   f"({args.growth_seconds:g} s per cell)"),
                  "", f"| request | {' | '.join(labels)} | growth {labels[-1]}/{labels[0]} |",
                  "|---|" + "---:|" * (len(labels) + 1)]
        for name, cells in table.items():
            growth_ratio = cells[labels[-1]] / max(cells[labels[0]], 1e-9)
            flag = "" if growth_ratio <= 1.5 else " (over 1.5)"
            lines.append(f"| {name} | {' | '.join(f'{cells[label]:.2f}' for label in labels)} "
                         f"| x{growth_ratio:.2f}{flag} |")
        lines.append("")
    for backend, sweep in sweeps.items():
        lines.append(f"Create on {backend}, 16 connections: " + ", ".join(
            f"{workers} worker{'s' if workers > 1 else ''} {result['rps']:.0f} req/s "
            f"(p99 {ms(result['p99_us'])} ms, errors {result['errors']})"
            for workers, result in sweep.items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
