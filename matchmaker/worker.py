"""The RQ worker process (``matchmaker worker``) and the entry points RQ calls in it by name.

A job is queued as ``matchmaker.worker.rq_run_job`` (see :func:`matchmaker.jobs.submit`) and a
matching run as ``matchmaker.worker.rq_run_matching``; the worker runs them with its one app.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from matchmaker import jobs
from matchmaker.matching.background import run_matching

_worker_app: Flask | None = None


def worker_app() -> Flask:
    """The app of this worker process (made once: the model then loads once per worker)."""
    global _worker_app
    if _worker_app is None:
        from matchmaker import create_app

        _worker_app = create_app()
    return _worker_app


def set_worker_app(app: Flask) -> None:
    """Use ``app`` for the jobs this process runs (``matchmaker worker``, tests)."""
    global _worker_app
    _worker_app = app


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Run jobs from the queue in this process until stopped (``burst``: until it is empty).

    A non-forking worker: the model stays loaded between jobs, and no torch state crosses a
    fork (see DESIGN.md, *Serving*).
    """
    from rq import SimpleWorker

    set_worker_app(app)
    worker = SimpleWorker([jobs.get_queue(app)], connection=jobs.redis_connection(app))
    worker.work(burst=burst, logging_level=app.extensions["matchmaker.settings"].log_level)


# Entry points RQ calls by name in the worker process.


def rq_run_job(job_id: int) -> dict[str, Any]:
    """Run job ``job_id`` in this worker."""
    return jobs.run_job(worker_app(), job_id)


def rq_run_matching(run_id: int) -> None:
    """Execute matching run ``run_id`` in this worker."""
    run_matching(worker_app(), run_id)


__all__ = ["rq_run_job", "rq_run_matching", "run_worker", "set_worker_app", "worker_app"]
