"""`interviews`: serve, deliver webhooks, migrate, import people, issue and revoke tokens,
prepare a demo."""
from __future__ import annotations

import argparse
import json
import os
import sys

from db.connection import migrate, open_database
from db.people import PeopleFileError, import_people
from handlers.cli import demo
from handlers.platform import auth
from handlers.platform.settings import Settings, SettingsError, process_settings


def serve(args: argparse.Namespace, settings: Settings) -> None:
    import shutil
    import signal
    import tempfile

    # Before anything imports prometheus_client (it picks its mode on import), and before the
    # workers start: a fresh directory for this server's metric samples, shared by its
    # workers, removed when it stops.
    metrics_dir = tempfile.mkdtemp(prefix="interviews-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from handlers.platform import observability

    observability.configure_logging(settings.log_level, development=settings.env == "development")

    def remove_then_die(signum: int, _frame: object) -> None:
        # One process: uvicorn drains, puts this handler back and re-raises SIGTERM, which
        # would end the process before `finally` runs.
        shutil.rmtree(metrics_dir, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, remove_then_die)
    try:
        run_uvicorn(args)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def run_uvicorn(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "handlers.platform.app:asgi",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop" if sys.platform != "win32" else "auto",
        # httptools, with header limits (handlers/platform/server.py)
        http="handlers.platform.server:Protocol",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=30,
        access_log=args.access_log,
        log_config=None,  # our lines (configure_logging), in every worker
        proxy_headers=True,
    )


def deliver(args: argparse.Namespace, settings: Settings) -> None:
    """Run a webhook delivery worker until SIGTERM/SIGINT (or, with --once, until idle)."""
    import asyncio
    import signal

    from db import outbox
    from handlers.outbound.delivery import deliverer_for
    from handlers.platform import observability
    from handlers.wire import present

    # As `serve`: ours only; JSON unless developing in a terminal
    observability.configure_logging(settings.log_level, development=settings.env == "development")
    outbox.present_interview = present.interview
    open_database(settings.database_url, max_connections=4)

    async def run() -> None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await deliverer_for(settings).run(stop, until_idle=args.once)

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interviews", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the HTTP server")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8080)
    serve_cmd.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                           help="worker processes (default: one per core)")
    serve_cmd.add_argument("--access-log", action="store_true")
    deliver_cmd = commands.add_parser("deliver", help="run a webhook delivery worker")
    deliver_cmd.add_argument("--once", action="store_true", help="stop when nothing is due")
    commands.add_parser("migrate", help="bring the database to the current schema")
    people = commands.add_parser("people", help="manage the copy of people")
    people.add_subparsers(dest="action", required=True).add_parser(
        "import", help="upsert users and interviewees from a JSON file").add_argument("file")
    token = commands.add_parser("token", help="issue or revoke bearer tokens")
    token_actions = token.add_subparsers(dest="action", required=True)
    issue = token_actions.add_parser(
        "issue", help="print a token for a user; for several users, one `USER_ID TOKEN` a line")
    issue.add_argument("user_id", type=int, nargs="+")
    issue.add_argument("--ttl", type=int, help="lifetime in seconds")
    token_actions.add_parser("revoke", help="refuse a token from now on").add_argument("jti")
    demo_cmd = commands.add_parser(
        "demo", help="migrate, import the demo people, print their tokens and what to do next")
    demo_cmd.add_argument("--host", default="127.0.0.1")
    demo_cmd.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)

    try:
        settings = process_settings()  # the same instance `serve`'s app and protocol use
    except SettingsError as error:
        parser.exit(2, f"interviews: {error}\n")
    if args.command == "serve":
        serve(args, settings)
        return 0
    if args.command == "deliver":
        deliver(args, settings)
        return 0
    open_database(settings.database_url, max_connections=4)
    if args.command == "migrate":
        applied = migrate()
        print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    elif args.command == "people":
        try:
            with open(args.file, encoding="utf-8") as handle:
                counts = import_people(json.load(handle))
        except (OSError, ValueError, PeopleFileError) as error:
            parser.exit(1, f"interviews: {args.file}: {error}; nothing was imported\n")
        print(f"imported {counts['users']} users and {counts['interviewees']} interviewees")
    elif args.command == "token" and args.action == "issue":
        if len(args.user_id) == 1:
            print(auth.issue_token(settings, args.user_id[0], args.ttl))
        for user_id in args.user_id if len(args.user_id) > 1 else ():
            print(user_id, auth.issue_token(settings, user_id, args.ttl))
    elif args.command == "demo":
        print(demo.prepare(settings, f"http://{args.host}:{args.port}"))
    elif args.command == "token":
        auth.revoke(args.jti)
        print(f"revoked {args.jti}")
    return 0

