"""Jobs on a real Redis: queued, run by a worker, and a killed worker writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from matchmaker import create_app, worker
from matchmaker.config import Settings
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.imports import ExternalKey
from matchmaker.jobs import Job
from matchmaker.jobs import tracking as job_tracking
from tests import factories
from tests.conftest import Api
from tests.production.conftest import group_rows, jsonl

# An RQ worker process runs the jobs.
pytestmark = pytest.mark.committed


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


def _kill_worker_mid_job(office: Api, job_id: int, worker: subprocess.Popen[bytes]) -> None:
    """Wait until ``worker`` is encoding job ``job_id``, then kill it with SIGKILL."""
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


def test_a_killed_worker_leaves_nothing_and_a_rerun_gives_the_same_result(
    rq_app, settings: Settings, redis_url: str, tmp_path: Path, monkeypatch
) -> None:
    text = jsonl(group_rows(40, publications=4, words=120))
    office = Api(rq_app.test_client(), factories.user(rq_app, "office@hamburg.example", "office"))
    job_id = office.post("/api/v1/imports", {"data": text}).json["id"]
    _kill_worker_mid_job(office, job_id, _start_worker(settings, redis_url, tmp_path))
    job = office.get(f"/api/v1/jobs/{job_id}").json
    assert job["done"] < job["total"], job
    assert _counts(rq_app) == (0, 0, 0)  # nothing half-written
    # Its worker process is gone from this machine: the job shows failed at once ...
    assert job["status"] == "failed" and "worker stopped" in job["error"], job
    # ... and so it would on another machine, once its heartbeat is stale.
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        s.execute(update(Job).where(Job.id == job_id).values(worker=None))
        s.commit()
    assert office.get(f"/api/v1/jobs/{job_id}").json["status"] == "running"
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


def test_a_retry_right_after_kill_9_of_the_worker_runs_again(
    rq_app, settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    """The issue's crash: a keyed import, its worker killed mid-job, the same request again at
    once. The job the stored answer accepted is dead: the retry starts a new one (not 409, not
    the dead job's answer), which a worker then finishes."""
    body = {"data": jsonl(group_rows(40, publications=4, words=120))}
    headers = {"Idempotency-Key": "import-after-kill-9"}
    office = Api(rq_app.test_client(), factories.user(rq_app, "office@hamburg.example", "office"))
    first = office.post("/api/v1/imports", body, headers=headers)
    assert first.status_code == 202, first.json
    _kill_worker_mid_job(office, first.json["id"], _start_worker(settings, redis_url, tmp_path))
    started = time.monotonic()
    retry = office.post("/api/v1/imports", body, headers=headers)
    assert time.monotonic() - started < 3
    assert retry.status_code == 202, retry.json
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "queued"
    again = office.post("/api/v1/imports", body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == retry.json["id"]
    worker.run_worker(rq_app, burst=True)
    done = office.get(f"/api/v1/jobs/{retry.json['id']}").json
    assert done["status"] == "finished" and done["result"]["created"] == 40, done
    assert _counts(rq_app) == (40, 160, 40)


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


def _mid_run(run: dict[str, Any]) -> bool:
    """A run caught in the middle: embedding its texts (some, not all) or matching its
    challenges (some, not all); the run's own ``done`` counts challenges matched."""
    summary = run.get("summary") or {}
    embedding = summary.get("phase") == "embedding" and (
        0 < summary.get("embedded", 0) < summary.get("to_embed", 0)
    )
    return run["status"] == "running" and (embedding or 0 < run["done"] < run["total"])


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
            if _mid_run(run):
                break
            assert run["status"] in ("queued", "running"), run
            time.sleep(0.1)
        assert _mid_run(run), run
    finally:
        worker.kill()
        worker.wait()
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        assert s.scalar(select(func.count()).select_from(Proposal)) == 0  # nothing half-written
        assert s.get(MatchingRun, run_id).heartbeat_at is not None  # type: ignore[union-attr]
    # Its worker process is gone from this machine: the run shows failed at once ...
    assert office.get(f"/api/v1/matching/runs/{run_id}").json["status"] == "failed"
    # ... and so it would on another machine, once its heartbeat is stale.
    with rq_app.extensions["matchmaker.sessionmaker"]() as s:
        s.execute(update(MatchingRun).where(MatchingRun.id == run_id).values(worker=None))
        s.commit()
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
