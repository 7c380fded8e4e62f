"""A real HTTP receiver on loopback for webhook tests: records what arrives, answers as told."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import standardwebhooks


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """`answer(n)` gives the status for the n-th request (from 0); 200 unless told otherwise."""

    def __init__(self, port: int | None = None,
                 answer: Callable[[int], int | tuple[int, dict[str, str], bytes]] = lambda n: 200,
                 delay: float = 0.0) -> None:
        self.port = port or free_port()
        self.answer, self.delay = answer, delay
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        self.paths: list[str] = []  # each request's path and query, as received
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    n = len(receiver.requests)
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                              body, time.time()))
                    receiver.paths.append(self.path)
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = receiver.answer(n)
                if not isinstance(answer, tuple):
                    answer = (answer, {}, b"ok")
                status, headers, content = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                try:
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender stopped reading, as it should for a large answer

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def verified(self, secret: str) -> list[dict]:
        """Every body received, each verified as a receiver would (raises if one is not)."""
        return [standardwebhooks.Webhook(secret).verify(body, headers)
                for headers, body, _ in self.requests]
