"""The service under gunicorn for a benchmark: start it, wait until its workers are ready."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]


def start(
    env: dict[str, str],
    stderr: IO[Any] | int = subprocess.DEVNULL,
    config: str = "deploy/gunicorn.conf.py",
    *options: str,
) -> subprocess.Popen:
    """``gunicorn -c deploy/gunicorn.conf.py wsgi:app`` (the gunicorn beside this Python), or
    with another ``config`` of the project and more command-line ``options``."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", config, *options, "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def ready(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_ready(
    server: subprocess.Popen,
    url: str,
    *,
    started: float,
    poll: float = 0.01,
    in_a_row: int = 20,
    limit: float = 300.0,
) -> tuple[float, float]:
    """Poll ``url`` (``/readyz``) every ``poll`` seconds until it answers 200 ``in_a_row``
    times running (so that every worker is ready). Returns seconds since ``started``
    (a ``perf_counter`` value) to the first 200 and to the last of the run."""
    first = None
    running = 0
    while running < in_a_row:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"not ready within {limit:.0f} s")
        if ready(url):
            running += 1
            first = first or time.perf_counter() - started
        else:
            running = 0
            time.sleep(poll)
    return first or 0.0, time.perf_counter() - started
