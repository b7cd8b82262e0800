"""A retry right after a kill -9 runs: no wait for the 60 s heartbeat and lease.

A real process names itself as the job's worker and the claim's owner, exactly as a request
does, and is then killed with SIGKILL. Its claim is still held, its lease and its job's heartbeat
are seconds old: the state a killed request leaves at +3 s. The retry must run at once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from matchmaker.api.models import IdempotencyKey
from matchmaker.db import session_scope, utcnow
from matchmaker.jobs import Job, JobStatus
from matchmaker.jobs.liveness import process_gone, process_identity
from matchmaker.matching.models import MatchingRun, RunStatus
from tests.factories import challenge_body
from tests.security.conftest import Site
from tests.security.test_idempotency_lease import _import

# Killed processes and concurrent retries of Idempotency-Key requests.
pytestmark = pytest.mark.committed

ROOT = Path(__file__).resolve().parents[2]
NAME_ITSELF = (
    "import sys, time\n"
    "from matchmaker.jobs.liveness import process_identity\n"
    "print(process_identity(), flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def process() -> Iterator[subprocess.Popen[str]]:
    """A live process that printed its own identity (as a request or worker records it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", NAME_ITSELF], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        yield child
    finally:
        child.kill()
        child.wait(timeout=10)


def _identity_then_kill(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    identity = child.stdout.readline().strip()
    assert identity and not process_gone(identity)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    return identity


def _held_by(site: Site, key: str, identity: str) -> None:
    """Turn ``key``'s row into the claim a request running in process ``identity`` holds at
    +3 s: no answer, lease 3 s old, its job or run running with a 3 s old heartbeat."""
    recent = utcnow() - dt.timedelta(seconds=3)
    with session_scope(site.app) as s:
        row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
        assert row is not None
        row.status, row.body, row.lease_at, row.owner = None, "", recent, identity
        for model, ident in ((Job, row.job_id), (MatchingRun, row.run_id)):
            if ident is None:
                continue
            thing: Any = s.get(model, ident)
            thing.status = JobStatus.RUNNING if model is Job else RunStatus.RUNNING
            thing.heartbeat_at, thing.worker, thing.finished_at = recent, identity, None


def test_a_retry_3_s_after_the_kill_runs_the_import_again(
    site: Site, process: subprocess.Popen[str]
) -> None:
    first = _import(site, "import-kill-9")
    assert first.status_code == 202
    _held_by(site, "import-kill-9", _identity_then_kill(process))
    job = site.api("office").get(f"/api/v1/jobs/{first.json['id']}").json
    assert job["status"] == "failed" and "Submit it again" in job["error"]
    retry = _import(site, "import-kill-9")
    assert retry.status_code == 202, retry.json
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "finished"
    again = _import(site, "import-kill-9")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == retry.json["id"]


def test_a_retry_3_s_after_the_kill_runs_the_matching_run_again(
    site: Site, process: subprocess.Popen[str]
) -> None:
    assert site.api("company_a").post("/api/v1/challenges", challenge_body()).status_code == 201
    office = site.api("office")
    headers = {"Idempotency-Key": "run-kill-9"}
    first = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    assert first.status_code == 202
    _held_by(site, "run-kill-9", _identity_then_kill(process))
    assert office.get(f"/api/v1/matching/runs/{first.json['id']}").json["status"] == "failed"
    retry = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    assert retry.status_code == 202, retry.json
    assert retry.json["id"] != first.json["id"] and retry.json["status"] == "finished"


def test_a_claim_killed_before_it_started_a_job_is_released(
    site: Site, process: subprocess.Popen[str]
) -> None:
    first = _import(site, "import-kill-early")
    _held_by(site, "import-kill-early", "")
    with session_scope(site.app) as s:  # killed while still reading the file: no job yet
        row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "import-kill-early"))
        assert row is not None
        row.job_id, row.owner = None, _identity_then_kill(process)
    retry = _import(site, "import-kill-early")
    assert retry.status_code == 202, retry.json
    assert retry.json["id"] != first.json["id"]


def test_a_claim_of_a_live_process_still_answers_in_progress(
    site: Site, process: subprocess.Popen[str]
) -> None:
    _import(site, "import-alive")
    assert process.stdout is not None
    _held_by(site, "import-alive", process.stdout.readline().strip())
    retry = _import(site, "import-alive")
    assert retry.status_code == 409
    assert retry.json["type"].endswith("idempotency-in-progress")


def test_only_a_process_of_this_machine_is_ever_called_gone() -> None:
    me = process_identity()
    host, boot, namespace, pid, started = me.split("|")
    assert not process_gone(me)
    assert process_gone("|".join((host, boot, namespace, pid, str(int(started) + 1))))  # reused
    for other in (
        "|".join(("another-host", boot, namespace, pid, "1")),
        "|".join((host, "another-boot", namespace, pid, "1")),
        "|".join((host, boot, "pid:[1]", pid, "1")),
        "|".join((host, boot, namespace, pid, "")),
        "",
        "garbage",
    ):
        assert not process_gone(other), other


def test_eight_concurrent_retries_of_a_live_request_run_it_once(site: Site) -> None:
    """The claim's holder is alive (this process): none of the retries takes it over."""
    gate = threading.Barrier(8)
    answers: list[Any] = []

    def send() -> None:
        gate.wait()
        answers.append(_import(site, "import-eight", rows=3))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 8
    ran = [a for a in answers if a.status_code == 202 and "Idempotent-Replayed" not in a.headers]
    assert len(ran) == 1, [(a.status_code, a.json) for a in answers]
    for a in answers:
        assert a.status_code == 409 or a.json["id"] == ran[0].json["id"], a.json
    with session_scope(site.app) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 1
