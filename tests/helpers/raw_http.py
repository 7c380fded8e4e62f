"""Raw HTTP against a real server, and what every problem answer must carry."""
from __future__ import annotations

import json
import socket

from handlers.platform.headers import STATIC_HEADERS


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for name, value in STATIC_HEADERS:
        assert response.headers[name] == value
    assert "x-request-id" in response.headers
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


FAST = {"INTERVIEWS_HEADER_TIMEOUT_SECONDS": "1", "INTERVIEWS_BODY_TIMEOUT_SECONDS": "1"}


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def exchange(port: int, data: bytes, wait: float = 10) -> bytes:
    """Send `data` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def parse(raw: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def assert_raw_problem(raw: bytes, status: int, code: str) -> None:
    got, headers, body = parse(raw)
    assert (got, body["code"]) == (status, code), raw[:500]
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    for name, value in STATIC_HEADERS:
        assert headers[name] == value
