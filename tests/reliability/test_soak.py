"""Soak: gunicorn with 2 workers on a throwaway PostgreSQL, mixed reads and writes for minutes.

Runs only under ``make soak`` (``MATCHMAKER_SOAK=1``); ``MATCHMAKER_SOAK_SECONDS`` sets the
length (default 150 s, at least 120). Asserted: no failed request, no worker restarted, and no
worker's memory grows by more than ``GROWTH_BOUND_MB`` after the warm-up. The figures (rates,
latencies, memory) are printed and written to ``instance/soak-figures.json`` for
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests

from matchmaker.cli import run_migrations
from matchmaker.config import INSTANCE_DIR, PROJECT_ROOT
from tests.reliability.conftest import Cluster

pytestmark = pytest.mark.skipif(
    os.environ.get("MATCHMAKER_SOAK") != "1", reason="the soak test runs under `make soak`"
)

SECONDS = max(120, int(os.environ.get("MATCHMAKER_SOAK_SECONDS", "150")))
WARM_UP = 30  # seconds: the model, the index and the connection pools settle
CLIENTS = 4
GROWTH_BOUND_MB = 64.0  # per worker, from the end of the warm-up to the end of the run
SAMPLE_EVERY = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(c) for c in children)


def _env(cluster: Cluster, port: int, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MATCHMAKER_DATABASE_URL": cluster.url,
        "MATCHMAKER_SECRET_KEY": "soak-secret",
        "MATCHMAKER_INSTANCE_DIR": str(instance),
        "MATCHMAKER_ENCODER_CACHE": str(INSTANCE_DIR / "encoders"),
        "MATCHMAKER_OUTBOX_DIR": str(instance / "outbox"),
        "MATCHMAKER_RATE_LIMIT_API": "100000 per minute",
        "MATCHMAKER_RATE_LIMIT_WRITES": "100000 per minute",
        "MATCHMAKER_TORCH_THREADS": "1",
        "MATCHMAKER_WARM_UP": "1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_ACCESSLOG": str(instance / "access.log"),
        "BIND": f"127.0.0.1:{port}",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def _cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "matchmaker", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


class Load:
    """Client threads doing what the office, companies and groups do, and what came back."""

    def __init__(self, base: str, tokens: dict[str, str], group_id: int) -> None:
        self.base, self.tokens, self.group_id = base, tokens, group_id
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def call(
        self, http: requests.Session, kind: str, role: str, method: str, path: str, **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kw.pop("headers", {})}
        start = time.perf_counter()
        try:
            r = http.request(method, self.base + path, headers=headers, timeout=60, **kw)
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(f"{kind}: {exc}")
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latency[kind].append(elapsed)
            self.statuses[(kind, r.status_code)] += 1
            if not 200 <= r.status_code < 300:
                self.errors.append(f"{kind}: {r.status_code} {r.text[:200]}")
        return r

    def client(self, seed: int) -> None:
        rnd = random.Random(seed)
        http = requests.Session()
        mine: list[int] = []
        n = 0
        while not self.stop.is_set():
            n += 1
            roll = rnd.random()
            if roll < 0.25:
                self.call(
                    http,
                    "list challenges",
                    "office",
                    "GET",
                    f"/api/v1/challenges?page={rnd.randint(1, 3)}",
                )
            elif roll < 0.40:
                r = self.call(http, "read challenge", "company", "GET", "/api/v1/challenges")
                if r is not None and r.ok and r.json()["items"]:
                    cid = rnd.choice(r.json()["items"])["id"]
                    self.call(http, "read challenge", "company", "GET", f"/api/v1/challenges/{cid}")
            elif roll < 0.55:
                self.call(
                    http,
                    "group matches",
                    "group",
                    "GET",
                    f"/api/v1/groups/{self.group_id}/matches?top=5",
                )
            elif roll < 0.65:
                self.call(http, "proposals", "office", "GET", "/api/v1/proposals?per_page=50")
            elif roll < 0.70:
                self.call(
                    http,
                    "similar",
                    "company",
                    "GET",
                    "/api/v1/challenges/similar?text=waste+heat+recovery+in+our+plant",
                )
            elif roll < 0.85:
                key = f"soak-{seed}-{n}"
                r = self.call(
                    http,
                    "post challenge",
                    "company",
                    "POST",
                    "/api/v1/challenges",
                    headers={"Idempotency-Key": key},
                    json=_challenge(rnd, key),
                )
                if r is not None and r.status_code == 201:
                    mine.append(r.json()["id"])
            elif roll < 0.93 and mine:
                self.call(
                    http,
                    "patch challenge",
                    "company",
                    "PATCH",
                    f"/api/v1/challenges/{rnd.choice(mine)}",
                    json={"co2_saving_t": float(rnd.randint(10, 5000))},
                )
            else:
                self.call(
                    http,
                    "add publication",
                    "group",
                    "POST",
                    f"/api/v1/groups/{self.group_id}/publications",
                    json={
                        "title": f"Soak study {seed}-{n} on heat recovery",
                        "abstract": "Measured heat recovery in a test rig.",
                        "year": 2025,
                    },
                )


def _challenge(rnd: random.Random, key: str) -> dict[str, Any]:
    topic = rnd.choice(
        [
            "waste heat",
            "hydrogen burners",
            "battery storage",
            "smart grid",
            "process steam",
            "fleet charging",
        ]
    )
    return {
        "title": f"{topic.capitalize()} at line {key}",
        "summary": f"We want to use {topic} at our Hamburg site and look for research partners.",
        "confidential": "Budget approved.",
        "fields": ["energy_efficiency"],
        "trl_now": 3,
        "trl_target": 6,
        "budget_band": "50k_250k",
        "status": "open",
    }


def test_soak(pg_cluster: Cluster, tmp_path: Path) -> None:
    port = _free_port()
    env = _env(pg_cluster, port, tmp_path)
    run_migrations(pg_cluster.url)
    _cli(env, "seed")
    tokens = {}
    for role, org in (("office", None), ("company", "company"), ("group", "group")):
        args = ["create-user", "--email", f"soak-{role}@example.org", "--role", role]
        if org == "company":
            args += ["--organisation", _first_org(pg_cluster, "company")]
        if org == "group":
            org_name, group_id = _first_group(pg_cluster)
            args += ["--organisation", org_name, "--group-id", str(group_id)]
        tokens[role] = _cli(env, *args).strip().splitlines()[-1]
    _, group_id = _first_group(pg_cluster)

    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(900):
            if server.poll() is not None:
                break
            try:
                if requests.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(
                "gunicorn did not become ready: " + (tmp_path / "gunicorn.log").read_text()[-2000:]
            )
        workers = _workers(server.pid)
        assert len(workers) == 2

        load = Load(base, tokens, group_id)
        threads = [threading.Thread(target=load.client, args=(i,)) for i in range(CLIENTS)]
        samples: list[tuple[float, dict[int, float]]] = []
        start = time.monotonic()
        for t in threads:
            t.start()
        try:
            while (now := time.monotonic() - start) < SECONDS:
                samples.append((now, {pid: _rss_mb(pid) for pid in workers}))
                time.sleep(SAMPLE_EVERY)
        finally:
            load.stop.set()
            for t in threads:
                t.join()
        elapsed = time.monotonic() - start
        samples.append((elapsed, {pid: _rss_mb(pid) for pid in workers}))
        assert _workers(server.pid) == workers, "a worker died and was replaced"
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()

    after_warm_up = next(s for t, s in samples if t >= WARM_UP)
    final = samples[-1][1]
    growth = {pid: final[pid] - after_warm_up[pid] for pid in workers}
    total = sum(len(v) for v in load.latency.values())
    figures = {
        "seconds": round(elapsed, 1),
        "clients": CLIENTS,
        "workers": 2,
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        "failed": len(load.errors),
        "by_kind": {
            kind: {
                "count": len(v),
                "p50_ms": round(statistics.median(v) * 1000, 1),
                "p95_ms": round(sorted(v)[int(0.95 * (len(v) - 1))] * 1000, 1),
            }
            for kind, v in sorted(load.latency.items())
        },
        "rss_mb": {
            str(pid): {
                "start": round(samples[0][1][pid], 1),
                "after_warm_up": round(after_warm_up[pid], 1),
                "end": round(final[pid], 1),
                "max": round(max(s[pid] for _, s in samples), 1),
                "growth_after_warm_up": round(growth[pid], 1),
            }
            for pid in workers
        },
        "growth_bound_mb": GROWTH_BOUND_MB,
    }
    print(json.dumps(figures, indent=2))
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    (INSTANCE_DIR / "soak-figures.json").write_text(json.dumps(figures, indent=2) + "\n")

    assert not load.errors, load.errors[:20]
    assert {kind for kind in load.latency} >= {
        "list challenges",
        "post challenge",
        "group matches",
        "add publication",
    }
    for pid, grew in growth.items():
        assert grew <= GROWTH_BOUND_MB, f"worker {pid} grew by {grew:.0f} MB after the warm-up"


def _first_org(cluster: Cluster, kind: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(cluster.url)
    with engine.connect() as conn:
        name = conn.scalar(
            text("SELECT name FROM organisations WHERE kind = :k ORDER BY id"), {"k": kind}
        )
    engine.dispose()
    return str(name)


def _first_group(cluster: Cluster) -> tuple[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(cluster.url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT o.name, g.id FROM research_groups g JOIN organisations o "
                "ON o.id = g.institution_id ORDER BY g.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    return str(row[0]), int(row[1])
