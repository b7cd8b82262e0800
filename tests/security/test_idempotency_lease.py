"""A retry after a crash is not stuck: an Idempotency-Key claim whose request died is released.

A request killed with ``kill -9`` leaves its claim (no stored answer) and a job or run that stops
sending heartbeats. The tests make that state directly: the first request runs to its end, and
its row is then turned back into the claim and job a killed worker leaves behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update

from matchmaker.api.idempotency import CLAIM_LEASE_SECONDS, _take_over
from matchmaker.api.models import IdempotencyKey
from matchmaker.db import session_scope, utcnow
from matchmaker.groups.models import ResearchGroup
from matchmaker.jobs import Job, JobStatus
from matchmaker.matching.models import MatchingRun, RunStatus
from tests.factories import challenge_body
from tests.production.conftest import group_rows, jsonl
from tests.security.conftest import Site

# Idempotency-Key claims (a connection of their own) of imports and matching runs.
pytestmark = pytest.mark.committed

LONG_AGO = dt.timedelta(seconds=CLAIM_LEASE_SECONDS + 5)


def _import(site: Site, key: str, rows: int = 2) -> Any:
    body = {"data": jsonl(group_rows(rows, publications=1, words=12)), "wait": True}
    return site.api("office").post("/api/v1/imports", body, headers={"Idempotency-Key": key})


def _groups(site: Site) -> int:
    with session_scope(site.app) as s:
        return int(s.scalar(select(func.count()).select_from(ResearchGroup)) or 0)


def _kill_request(site: Site, key: str, *, lease_age: dt.timedelta, job_alive: bool) -> None:
    """Make ``key``'s row what a request killed mid-job leaves: a claim without an answer whose
    lease was last refreshed ``lease_age`` ago, and its job running (heartbeat fresh or lost)."""
    now = utcnow()
    with session_scope(site.app) as s:
        row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
        assert row is not None
        row.status, row.body, row.lease_at = None, "", now - lease_age
        for model, ident in ((Job, row.job_id), (MatchingRun, row.run_id)):
            if ident is None:
                continue
            thing = s.get(model, ident)
            thing.status = JobStatus.RUNNING if model is Job else RunStatus.RUNNING
            thing.heartbeat_at = now if job_alive else now - LONG_AGO
            thing.finished_at = None


def test_the_claim_names_the_job_it_started(site: Site) -> None:
    first = _import(site, "import-1")
    assert first.status_code == 202
    with session_scope(site.app) as s:
        row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "import-1"))
        assert row is not None and row.job_id == first.json["id"] and row.status == 202


def test_a_live_request_keeps_its_claim(site: Site) -> None:
    first = _import(site, "import-live")
    assert first.status_code == 202
    _kill_request(site, "import-live", lease_age=dt.timedelta(seconds=3), job_alive=True)
    retry = _import(site, "import-live")
    assert retry.status_code == 409
    assert retry.json["type"].endswith("idempotency-in-progress")


def test_a_retry_after_the_lease_expired_runs(site: Site) -> None:
    before = _groups(site)
    first = _import(site, "import-killed")
    assert first.status_code == 202
    _kill_request(site, "import-killed", lease_age=LONG_AGO, job_alive=False)
    retry = _import(site, "import-killed")
    assert retry.status_code == 202, retry.json
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json["id"] != first.json["id"]
    assert retry.json["status"] == "finished"
    assert _groups(site) == before + 2  # imported once: the rerun updated by key
    # ... and the next retry gets the new answer again.
    again = _import(site, "import-killed")
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == retry.json["id"]


def test_a_claim_whose_job_failed_is_released_at_once(site: Site) -> None:
    first = _import(site, "import-failed")
    _kill_request(site, "import-failed", lease_age=dt.timedelta(seconds=3), job_alive=True)
    with session_scope(site.app) as s:
        s.execute(update(Job).where(Job.id == first.json["id"]).values(status=JobStatus.FAILED))
    retry = _import(site, "import-failed")
    assert retry.status_code == 202, retry.json
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "finished"


def test_an_answer_whose_job_lost_its_worker_is_run_again(site: Site) -> None:
    """The 202 was stored, then the worker died with the job: the retry starts it again."""
    first = _import(site, "import-accepted")
    with session_scope(site.app) as s:
        s.execute(
            update(Job)
            .where(Job.id == first.json["id"])
            .values(status=JobStatus.RUNNING, heartbeat_at=utcnow() - LONG_AGO, finished_at=None)
        )
    assert site.api("office").get(f"/api/v1/jobs/{first.json['id']}").json["status"] == "failed"
    retry = _import(site, "import-accepted")
    assert retry.status_code == 202
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "finished"


def test_an_answer_whose_job_finished_or_was_rejected_is_replayed(site: Site) -> None:
    first = _import(site, "import-done")
    retry = _import(site, "import-done")
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json == first.json


def test_a_stuck_matching_run_is_released(site: Site) -> None:
    assert site.api("company_a").post("/api/v1/challenges", challenge_body()).status_code == 201
    office = site.api("office")
    headers = {"Idempotency-Key": "run-killed"}
    first = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    assert first.status_code == 202
    _kill_request(site, "run-killed", lease_age=dt.timedelta(seconds=3), job_alive=True)
    assert (
        office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers).status_code
        == 409
    )
    _kill_request(site, "run-killed", lease_age=LONG_AGO, job_alive=False)
    retry = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    assert retry.status_code == 202, retry.json
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "finished"


def test_an_accepted_run_that_lost_its_worker_is_started_again(site: Site) -> None:
    assert site.api("company_a").post("/api/v1/challenges", challenge_body()).status_code == 201
    office = site.api("office")
    headers = {"Idempotency-Key": "run-accepted"}
    first = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    with session_scope(site.app) as s:
        s.execute(
            update(MatchingRun)
            .where(MatchingRun.id == first.json["id"])
            .values(status=RunStatus.RUNNING, heartbeat_at=utcnow() - LONG_AGO)
        )
    retry = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    assert retry.status_code == 202
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "finished"


def test_only_one_retry_takes_over_an_abandoned_claim(site: Site) -> None:
    _import(site, "import-race")
    _kill_request(site, "import-race", lease_age=LONG_AGO, job_alive=False)
    sessions = site.app.extensions["matchmaker.sessionmaker"]
    with sessions() as a, sessions() as b:
        row_a = a.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "import-race"))
        row_b = b.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "import-race"))
        assert row_a is not None and row_b is not None
        assert _take_over(a, row_a) is True
        a.commit()
        assert _take_over(b, row_b) is False
