"""How long a gunicorn web worker takes from start to answering: ``python tests/bench/bench_startup.py``.

The embedded set-up of ``make run`` (SQLite, the sample data, vectors already stored by
``matchmaker reembed``) served by ``deploy/gunicorn.conf.py`` with 2 workers and
``MATCHMAKER_WARM_UP=1``. Each round starts gunicorn afresh and polls ``/readyz`` every 10 ms:
"first ready" is when one worker answers 200 (database reachable, model loaded, index built),
"all ready" when 20 answers in a row are 200 (both workers). The encoder model is built into its
cache before the first round (as ``make run`` does once). Prints a markdown table per backend.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _gunicorn

ROOT = Path(__file__).resolve().parents[2]
PORT = 8792
BIN = Path(sys.executable).parent


def measure(env: dict[str, str], rounds: int) -> list[tuple[float, float]]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        server = _gunicorn.start(env)
        try:
            out.append(
                _gunicorn.wait_ready(server, f"http://127.0.0.1:{PORT}/readyz", started=started)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backends", default="", help="comma-separated (default: the setting)")
    args = parser.parse_args()
    from matchmaker.config import Settings

    cache = Settings.from_env().encoder_cache
    backends = [b for b in args.backends.split(",") if b] or [Settings.from_env().encoder_backend]
    print("| Backend | first worker ready s (median) | all workers ready s (median) | rounds |")
    print("|---|---:|---:|---:|")
    for backend in backends:
        tmp = Path(tempfile.mkdtemp(prefix="mm-start-"))
        env = {
            **os.environ,
            "MATCHMAKER_DATABASE_URL": f"sqlite:///{tmp / 'matchmaker.sqlite3'}",
            "MATCHMAKER_INSTANCE_DIR": str(tmp),
            "MATCHMAKER_ENCODER_CACHE": cache,
            "MATCHMAKER_ENCODER_BACKEND": backend,
            "MATCHMAKER_SECRET_KEY": "bench",
            "MATCHMAKER_WARM_UP": "1",
            "MATCHMAKER_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
            "BIND": f"127.0.0.1:{PORT}",
            "WEB_CONCURRENCY": "2",
        }
        (tmp / "metrics").mkdir()
        try:
            for command in (["migrate"], ["seed"], ["reembed"]):
                done = subprocess.run(
                    [str(BIN / "matchmaker"), *command], env=env, capture_output=True, text=True
                )
                if done.returncode:
                    sys.exit(f"matchmaker {command[0]} failed:\n{done.stderr[-2000:]}")
            times = measure(env, args.rounds)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        first = statistics.median(t[0] for t in times)
        every = statistics.median(t[1] for t in times)
        print(f"| {backend} | {first:.2f} | {every:.2f} | {len(times)} |", flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
