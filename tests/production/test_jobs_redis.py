"""Jobs on a real Redis: queued, run by a worker, and a killed worker writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker import create_app, worker
from matchmaker.config import Settings
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.imports import ExternalKey
from matchmaker.jobs import tracking as job_tracking
from tests import factories
from tests.conftest import Api
from tests.production.conftest import group_rows, jsonl


@pytest.fixture
def rq_app(settings: Settings, embedder, redis_url: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    app = create_app(replace(settings, redis_url=redis_url), embedder=embedder, TESTING=True)
    yield app
    app.extensions["matchmaker.engine"].dispose()


def _counts(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with app.extensions["matchmaker.sessionmaker"]() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (ResearchGroup, Publication, ExternalKey)
        )


def _start_worker(settings: Settings, redis_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    """A real `matchmaker worker` process on the test database and Redis."""
    env = {
        **os.environ,
        "MATCHMAKER_DATABASE_URL": settings.database_url,
        "MATCHMAKER_REDIS_URL": redis_url,
        "MATCHMAKER_SECRET_KEY": "test-secret",
        "MATCHMAKER_INSTANCE_DIR": str(tmp_path),
        "MATCHMAKER_ENCODER_CACHE": Settings.from_env().encoder_cache,
        "MATCHMAKER_TORCH_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "matchmaker", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_queued_import_runs_on_a_worker(rq_app) -> None:
    office = Api(rq_app.test_client(), factories.user(rq_app, "office@hamburg.example", "office"))
    r = office.post("/api/v1/imports", {"data": jsonl(group_rows(3))})
    assert r.status_code == 202 and r.json["status"] == "queued"
    metrics = office.get("/metrics").get_data(as_text=True)
    assert 'matchmaker_job_queue_depth{state="queued"} 1.0' in metrics
    worker.run_worker(rq_app, burst=True)
    job = office.get(f"/api/v1/jobs/{r.json['id']}").json
    assert job["status"] == "finished", job
    assert job["result"]["created"] == 3 and job["done"] == job["total"] > 0
    assert _counts(rq_app) == (3, 6, 3)


def test_a_killed_worker_leaves_nothing_and_a_rerun_gives_the_same_result(
    rq_app, settings: Settings, redis_url: str, tmp_path: Path, monkeypatch
) -> None:
    text = jsonl(group_rows(40, publications=4, words=120))
    office = Api(rq_app.test_client(), factories.user(rq_app, "office@hamburg.example", "office"))
    job_id = office.post("/api/v1/imports", {"data": text}).json["id"]
    worker = _start_worker(settings, redis_url, tmp_path)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job = office.get(f"/api/v1/jobs/{job_id}").json
            if job["status"] == "running" and job["total"] > 0:
                break
            assert job["status"] in ("queued", "running"), job
            time.sleep(0.2)
        assert job["status"] == "running" and job["total"] > 0, job
        time.sleep(1.0)  # mid-way through encoding
    finally:
        worker.kill()
        worker.wait()
    job = office.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "running" and job["done"] < job["total"], job
    assert _counts(rq_app) == (0, 0, 0)  # nothing half-written
    monkeypatch.setattr(job_tracking, "STALE_AFTER_SECONDS", 0.0)
    lost = office.get(f"/api/v1/jobs/{job_id}").json
    assert lost["status"] == "failed" and "worker stopped" in lost["error"]

    # Submit it again: the result is complete (vectors stored before the kill are reused).
    again = office.post("/api/v1/imports", {"data": text, "wait": True}).json
    assert again["status"] == "finished", again
    assert again["result"]["created"] == 40
    assert again["result"]["passages_encoded"] <= job["total"]
    assert _counts(rq_app) == (40, 160, 40)
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        first = s.execute(
            select(ResearchGroup.id, ResearchGroup.name).order_by(ResearchGroup.id)
        ).all()
    third = office.post("/api/v1/imports", {"data": text, "wait": True}).json
    assert third["result"]["unchanged"] == 40 and _counts(rq_app) == (40, 160, 40)
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        assert (
            s.execute(select(ResearchGroup.id, ResearchGroup.name).order_by(ResearchGroup.id)).all()
            == first
        )


def test_a_matching_run_goes_through_the_queue(rq_app) -> None:
    office = Api(rq_app.test_client(), factories.user(rq_app, "office@hamburg.example", "office"))
    from matchmaker.imports import run_import

    run_import(rq_app, jsonl(group_rows(3)))
    r = office.post("/api/v1/matching/runs", {"k": 1})
    assert r.status_code == 202 and r.json["status"] == "queued"
    worker.run_worker(rq_app, burst=True)
    run = office.get(f"/api/v1/matching/runs/{r.json['id']}").json
    assert run["status"] == "finished", run


def test_readyz_reports_redis(rq_app) -> None:
    client = rq_app.test_client()
    for _ in range(300):
        r = client.get("/readyz")
        if r.status_code == 200:
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.json
    assert r.json["checks"]["redis"] == "ok"


def test_a_matching_run_whose_worker_is_killed_shows_failed_and_a_new_run_completes(
    rq_app, settings: Settings, redis_url: str, tmp_path: Path, monkeypatch
) -> None:
    from sqlalchemy import delete

    from matchmaker.imports import run_import
    from matchmaker.matching import runs as matching
    from matchmaker.matching.models import MatchingRun, PassageEmbedding, Proposal

    run_import(rq_app, jsonl(group_rows(40, publications=4, words=120)))
    factories.organisation(rq_app, "Reederei")
    company = factories.user(rq_app, "ops@company.example", "company", organisation="Reederei")
    Api(rq_app.test_client(), company).post("/api/v1/challenges", factories.challenge_body())
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        s.execute(delete(PassageEmbedding))  # the run must encode them again: minutes of work
        s.commit()
    from tests.web.conftest import PASSWORD, Browser

    token = factories.user(rq_app, "office@hamburg.example", "office", password=PASSWORD)
    office = Api(rq_app.test_client(), token)
    run_id = office.post("/api/v1/matching/runs", {"k": 2}).json["id"]
    worker = _start_worker(settings, redis_url, tmp_path)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            run = office.get(f"/api/v1/matching/runs/{run_id}").json
            if run["status"] == "running" and 0 < run["done"] < run["total"]:
                break
            assert run["status"] in ("queued", "running"), run
            time.sleep(0.1)
        assert run["status"] == "running" and 0 < run["done"] < run["total"], run
    finally:
        worker.kill()
        worker.wait()
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        assert s.scalar(select(func.count()).select_from(Proposal)) == 0  # nothing half-written
        assert s.get(MatchingRun, run_id).heartbeat_at is not None  # type: ignore[union-attr]
    assert office.get(f"/api/v1/matching/runs/{run_id}").json["status"] == "running"
    monkeypatch.setattr(job_tracking, "STALE_AFTER_SECONDS", 0.0)
    lost = office.get(f"/api/v1/matching/runs/{run_id}").json
    assert lost["status"] == "failed" and "worker stopped" in lost["error"]
    browser = Browser(rq_app.test_client())
    browser.login("office@hamburg.example")
    page = browser.text(f"/office/matching/runs/{run_id}")
    assert 'data-run-state="failed"' in page and "worker stopped" in page

    again = office.post("/api/v1/matching/runs", {"k": 2, "wait": True}).json
    finished = office.get(f"/api/v1/matching/runs/{again['id']}").json
    assert finished["status"] == "finished" and finished["summary"]["proposals"] == 2, finished
    assert not matching.run_is_stale(
        rq_app.extensions["matchmaker.sessionmaker"]().get(MatchingRun, again["id"])
    )
