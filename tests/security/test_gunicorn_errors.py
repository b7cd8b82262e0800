"""What gunicorn refuses before the app sees it is a problem document too, not an HTML page.

A real gunicorn on a free loopback port, with the project's configurations (``make run``'s and
production's), gets an over-long request line, an over-large header and a malformed header on a
raw socket.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench._gunicorn import ROOT, start

PROBLEM_TYPE = "https://matchmaker.example/problems/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(
    params=[("gunicorn.conf.py", "1"), ("deploy/gunicorn.conf.py", "2")],
    ids=["make-run-sync-worker", "production-threaded-worker"],
)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    """gunicorn with one of the project's configurations, one worker (with one thread or
    two); yields its port."""
    config, threads = request.param
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCHMAKER_", "GUNICORN_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS=threads,
        MATCHMAKER_DATABASE_URL=f"sqlite:///{tmp_path / 'serving.sqlite'}",
        MATCHMAKER_SECRET_KEY="test-secret",
        MATCHMAKER_INSTANCE_DIR=str(tmp_path),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "gunicorn.log").open("w")
    process = start(env, log, config, "--no-control-socket")
    try:
        deadline = time.monotonic() + 30
        while True:  # the master listens at once; a worker answers what waits once it booted
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not listen"
                time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` and read the whole answer (gunicorn closes after an error)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def _problem(headers: dict[str, str], body: bytes, status: int) -> dict[str, object]:
    assert headers["content-type"] == "application/problem+json", (headers, body[:200])
    assert int(headers["content-length"]) == len(body)
    doc = json.loads(body)
    assert doc["status"] == status and doc["type"].startswith(PROBLEM_TYPE)
    assert {"type", "title", "status", "detail"} <= set(doc)
    assert b"<html" not in body
    return doc


def test_gunicorns_own_refusals_are_problem_documents(server: int) -> None:
    line = b"GET /api/v1/challenges?q=" + b"a" * 9 * 1024 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, headers, body = _exchange(server, line)
    assert status == 414
    doc = _problem(headers, body, 414)
    assert doc["title"] == "URI Too Long" and "request line" in str(doc["detail"])

    header = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40 * 1024 + b"\r\n\r\n"
    status, headers, body = _exchange(server, header)
    assert status == 431
    doc = _problem(headers, body, 431)
    assert doc["title"] == "Request Header Fields Too Large"
    assert "headers are too large" in str(doc["detail"])

    status, headers, body = _exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n")
    assert status == 400
    assert "Bad Name" in str(_problem(headers, body, 400)["detail"])

    # The app behind it still answers as before.
    healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, headers, body = _exchange(server, healthz)
    assert status == 200, body[:300]
