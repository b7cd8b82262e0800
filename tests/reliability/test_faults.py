"""Faults: the database restarts under writes, Redis goes away — nothing acknowledged is lost."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import create_engine, func, select, text

from matchmaker import create_app
from matchmaker.challenges.models import Challenge
from matchmaker.cli import run_migrations
from matchmaker.config import Settings
from tests.factories import challenge_body
from tests.reliability.conftest import Cluster
from tests.security.conftest import build_site

WRITERS = 4
NO_LIMITS = {"rate_limit_api": "", "rate_limit_writes": "", "rate_limit_auth_failures": ""}


@dataclass
class Attempt:
    title: str
    status: int
    body: dict[str, Any]
    retry_after: str | None


def _key(title: str) -> str:
    return title.replace(" ", "-")


def _writer(app: Any, token: str, name: str, stop: threading.Event, out: list[Attempt]) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(2000):  # bounded, whatever happens
        if stop.is_set():
            return
        title = f"{name} challenge {i}"
        r = client.post(
            "/api/v1/challenges",
            json=challenge_body(title=title),
            headers={**headers, "Idempotency-Key": _key(title)},
        )
        out.append(Attempt(title, r.status_code, r.json or {}, r.headers.get("Retry-After")))
        if r.status_code not in (201, 503):
            return  # unexpected: the assertions below report it
        if r.status_code == 503:
            time.sleep(0.05)


def _wait_for(attempts: list[Attempt], successes: int) -> None:
    """Until ``successes`` more writes succeeded (or the writers stopped trying)."""
    start = sum(a.status == 201 for a in attempts)
    for _ in range(6000):
        if sum(a.status == 201 for a in attempts) >= start + successes:
            return
        time.sleep(0.01)


def test_database_restarts_while_writes_are_in_flight(
    pg_cluster: Cluster, embedder: Any, tmp_path: Any
) -> None:
    run_migrations(pg_cluster.url)
    settings = Settings.from_env(
        {},
        database_url=pg_cluster.url,
        secret_key="test-secret",
        outbox_dir=str(tmp_path / "outbox"),
        db_pool_timeout=2.0,
        **NO_LIMITS,
    )
    # Not TESTING: an unexpected error is a 500 response here, as a client would see it.
    app = create_app(settings, embedder=embedder)
    site = build_site(app)
    tokens = [site.tokens["company_a"], site.tokens["company_b"]]
    # The first change of a fresh database creates the index-state row; concurrent first
    # changes race on it (reported separately) — this test is about restarts.
    assert (
        site.api("office")
        .post("/api/v1/challenges", challenge_body(organisation_id=site.company_a_id))
        .status_code
        == 201
    )
    attempts: list[Attempt] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_writer, args=(app, tokens[i % 2], f"w{i}", stop, attempts))
        for i in range(WRITERS)
    ]
    for t in threads:
        t.start()
    try:
        _wait_for(attempts, 20)
        pg_cluster.restart("fast")  # sessions cut off mid-transaction
        _wait_for(attempts, 20)
        pg_cluster.restart("immediate")  # a crash: recovery from the write-ahead log
        _wait_for(attempts, 20)
    finally:
        stop.set()
        for t in threads:
            t.join()

    statuses = Counter(a.status for a in attempts)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0, "the restarts were noticed by some writes"
    for a in attempts:
        if a.status == 503:
            assert a.body["type"].endswith("/unavailable") and a.retry_after, a

    # Every acknowledged write is there, exactly once.
    engine = create_engine(pg_cluster.url)
    with engine.connect() as conn:
        stored = Counter(conn.scalars(select(Challenge.title)).all())
    acknowledged = {a.title for a in attempts if a.status == 201}
    assert acknowledged <= set(stored)
    assert max(stored.values()) == 1

    # Every refused write can be retried with its key: then all are there, still exactly once.
    client = app.test_client()
    owner = {f"w{i}": tokens[i % 2] for i in range(WRITERS)}
    for a in attempts:
        if a.status == 201:
            continue
        for _ in range(50):
            r = client.post(
                "/api/v1/challenges",
                json=challenge_body(title=a.title),
                headers={
                    "Authorization": f"Bearer {owner[a.title.split()[0]]}",
                    "Idempotency-Key": _key(a.title),
                },
            )
            if r.status_code == 201:
                break
            time.sleep(0.1)
        assert r.status_code == 201, r.json
    with engine.connect() as conn:
        stored = Counter(conn.scalars(select(Challenge.title)).all())
        keys = conn.scalar(select(func.count()).select_from(text("idempotency_keys")))
        assert keys == len(stored) - 1  # one stored answer per keyed write
    assert set(stored) == {a.title for a in attempts} | {challenge_body()["title"]}
    assert max(stored.values()) == 1
    engine.dispose()
    app.extensions["matchmaker.engine"].dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redis_down_reads_keep_working_and_readyz_says_so(
    settings: Settings, embedder: Any
) -> None:
    down = replace(settings, redis_url=f"redis://127.0.0.1:{_closed_port()}/4")
    app = create_app(down, embedder=embedder, TESTING=True)
    site = build_site(app)
    a = site.api("company_a")
    created = a.post("/api/v1/challenges", challenge_body())
    assert created.status_code == 201
    assert a.get("/api/v1/challenges").json["total"] == 1
    assert a.get(f"/api/v1/challenges/{created.json['id']}").status_code == 200
    assert site.api("group").get(f"/api/v1/groups/{site.group_id}/matches").status_code == 200
    assert site.browser("company_a").get("/challenges").status_code == 200
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["redis"].startswith("unavailable")
    assert ready.json["checks"]["database"] == "ok"
    app.extensions["matchmaker.engine"].dispose()
