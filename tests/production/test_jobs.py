"""The job runner: each kind of job does what its feature registered, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from matchmaker import jobs
from matchmaker.db import session_scope
from matchmaker.imports import ImportInvalid
from matchmaker.jobs import runner as job_runner
from matchmaker.observability import readiness, register_check
from tests.production.conftest import group_rows, jsonl

# Jobs run with their heartbeat thread.
pytestmark = pytest.mark.committed


def _job(app: Flask, kind: jobs.JobKind, params: dict[str, Any], payload: str | None = None) -> int:
    with session_scope(app) as session:
        return jobs.create_job(session, kind, params, payload=payload).id


def _row(app: Flask, job_id: int) -> dict[str, Any]:
    with app.extensions["matchmaker.sessionmaker"]() as session:
        return jobs.job_out(session.get(jobs.Job, job_id))


def test_a_job_kind_without_a_handler_fails_the_job_naming_its_kind(app, monkeypatch) -> None:
    monkeypatch.delitem(app.extensions["matchmaker.job_handlers"], jobs.JobKind.REEMBED)
    job_id = _job(app, jobs.JobKind.REEMBED, {"prune": False})
    with pytest.raises(jobs.NoHandler):
        jobs.run_job(app, job_id)
    out = _row(app, job_id)
    assert out["status"] == "failed"
    assert out["error"] == "NoHandler: no handler is registered for jobs of kind 'reembed'"
    assert out["result"] == {} and out["finished_at"] is not None


def test_run_job_dispatches_to_the_handler_registered_for_the_kind(app, monkeypatch) -> None:
    seen: list[tuple[int, dict[str, Any], str | None]] = []

    def handler(app_: Flask, work: jobs.JobWork, progress: jobs.Progress) -> dict[str, Any]:
        assert app_ is app
        progress(2, 2)
        seen.append((work.id, work.params, work.payload))
        return {"handled": True}

    monkeypatch.setitem(app.extensions["matchmaker.job_handlers"], jobs.JobKind.REEMBED, handler)
    job_id = _job(app, jobs.JobKind.REEMBED, {"prune": True}, payload="text")
    assert jobs.run_job(app, job_id) == {"handled": True}
    assert seen == [(job_id, {"prune": True}, "text")]
    out = _row(app, job_id)
    assert out["status"] == "finished" and out["result"] == {"handled": True}
    assert out["done"] == out["total"] == 2


def test_a_handler_for_the_app_wins_over_one_for_every_app(app, monkeypatch) -> None:
    monkeypatch.setattr(job_runner, "_HANDLERS", {})
    monkeypatch.delitem(app.extensions["matchmaker.job_handlers"], jobs.JobKind.REEMBED)
    jobs.register_handler(None, jobs.JobKind.REEMBED, lambda *_: {"by": "process"})
    assert jobs.run_job(app, _job(app, jobs.JobKind.REEMBED, {})) == {"by": "process"}
    jobs.register_handler(app, jobs.JobKind.REEMBED, lambda *_: {"by": "app"})
    assert jobs.run_job(app, _job(app, jobs.JobKind.REEMBED, {})) == {"by": "app"}


def test_a_rejected_import_job_records_every_bad_row(app) -> None:
    rows = group_rows(2)
    rows[1]["trl_max"] = "seven"
    job_id = _job(app, jobs.JobKind.IMPORT, {"kind": "groups"}, payload=jsonl(rows))
    with pytest.raises(ImportInvalid):
        jobs.run_job(app, job_id)
    out = _row(app, job_id)
    assert out["status"] == "failed"
    assert out["error"].startswith("1 error(s); nothing was imported. First: line 2: trl_max")
    assert [e["field"] for e in out["result"]["errors"]] == ["trl_max"]


def test_readiness_runs_the_registered_checks_in_order(app) -> None:
    register_check(app, "spool", lambda _app: (False, "full"))
    ready, checks = readiness(app)
    assert not ready
    assert list(checks) == ["database", "model", "index", "spool"]
    assert checks["spool"] == "full"
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert r.json["status"] == "not ready" and r.json["checks"]["spool"] == "full"
