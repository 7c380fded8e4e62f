"""`make bench`: the product against a Starlette ceiling, served the same way, on loopback.

Both run as `--workers N` uvicorn processes (uvloop, httptools) on their own SQLite file in
WAL mode with synchronous=FULL. wrk drives create, show and list at several concurrency
levels; the report gives our requests/s as a ratio of the ceiling's, with p50, p99 and
errors. Everything it starts, it stops.
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-that-is-long-enough-for-hs256"
OPS = {"create": None, "show": "/api/v1/interviews/1", "list": "/api/v1/interviews?limit=25"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(db_path: Path) -> dict[str, str]:
    return {**os.environ, "INTERVIEWS_DATABASE_URL": f"sqlite:///{db_path}",
            "INTERVIEWS_JWT_SECRET": SECRET, "INTERVIEWS_ENV": "production",
            # One caller sends every request: a per-caller limit would measure 429s.
            "INTERVIEWS_RATE_LIMIT": os.environ.get("INTERVIEWS_RATE_LIMIT", "off")}


def interviews(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout.strip()


def start(kind: str, env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    if kind == "product":
        cmd = [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port), "--workers", str(workers)]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(ROOT / "bench"),
               "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            httpx.get(base + "/api/v1/interviews/1", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} did not start")


def wrk(base: str, op: str, token: str, offset: int, connections: int, seconds: float) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
           "-s", str(ROOT / "bench" / "wrk.lua"), base, "--",
           "create" if op == "create" else "get", token, str(offset), OPS[op] or "/"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "5")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    parser.add_argument("--concurrency", default=os.environ.get("BENCH_CONCURRENCY", "1,16,64"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "latest.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    levels = [int(c) for c in args.concurrency.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="interviews-bench-"))
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    rows = []
    try:
        tokens = {}
        for kind in ("ceiling", "product"):
            env = environment(workdir / f"{kind}.db")
            interviews(env, "migrate")
            interviews(env, "people", "import", str(ROOT / "db" / "demo_people.json"))
            tokens[kind] = interviews(env, "token", "issue", "1015")
            servers[kind] = start(kind, env, args.workers)
        run = 0
        for op in OPS:
            for connections in levels:
                cell = {}
                for kind in ("ceiling", "product"):
                    _, base = servers[kind]
                    run += 1
                    wrk(base, op, tokens[kind], run * 1_000_000, connections, 1)  # warm-up
                    run += 1
                    cell[kind] = wrk(base, op, tokens[kind], run * 1_000_000, connections, args.seconds)
                rows.append((op, connections, cell["product"], cell["ceiling"]))
                print(format_row(*rows[-1]), flush=True)
    finally:
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    report = render(rows, args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    print("\n" + report)


def ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def format_row(op: str, c: int, ours: dict, ceiling: dict) -> str:
    return (f"| {op} | {c} | {ours['rps']:.0f} | {ms(ours['p50_us'])} | {ms(ours['p99_us'])} | {ours['errors']} "
            f"| {ceiling['rps']:.0f} | {ms(ceiling['p50_us'])} | {ms(ceiling['p99_us'])} | {ceiling['errors']} "
            f"| {ours['rps'] / ceiling['rps']:.2f} | {ours['p99_us'] / max(ceiling['p99_us'], 1):.2f} |")


def render(rows: list, args: argparse.Namespace) -> str:
    lines = [
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
         f"{args.workers} workers each; {args.seconds:g} s per cell after a 1 s warm-up; wrk -t1."),
        "",
        ("| op | conns | ours req/s | ours p50 ms | ours p99 ms | ours errors | ceiling req/s "
         "| ceiling p50 ms | ceiling p99 ms | ceiling errors | req/s ratio | p99 ratio |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(format_row(*row) for row in rows),
        "",
        "Targets (2 workers, 64 connections): create >= 0.50 of the ceiling's req/s, show and list >= 0.40,",
        "p99 <= 4x the ceiling's, zero errors; at 1 connection, show p50 within 1 ms of the ceiling's.",
    ]
    for op, c, ours, ceiling in rows:
        if c == 64:
            floor = 0.5 if op == "create" else 0.4
            ratio, p99 = ours["rps"] / ceiling["rps"], ours["p99_us"] / max(ceiling["p99_us"], 1)
            ok = ratio >= floor and p99 <= 4 and ours["errors"] == 0
            lines.append(f"- {op} @64: ratio {ratio:.2f} (>= {floor}), p99 x{p99:.2f} (<= 4), "
                         f"errors {ours['errors']}: {'met' if ok else 'MISSED'}")
        if c == 1 and op == "show":
            gap = (ours["p50_us"] - ceiling["p50_us"]) / 1000
            lines.append(f"- show @1: p50 gap {gap:.2f} ms (<= 1): {'met' if gap <= 1 else 'MISSED'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
