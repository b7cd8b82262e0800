"""The job queue: recording a job, submitting it (to RQ on Redis, or a thread), its depth.

With ``MATCHMAKER_REDIS_URL`` set, jobs go to an RQ queue on Redis and ``matchmaker worker``
processes (:mod:`matchmaker.worker`) run them; without it, a job runs in a thread of the
submitting process (the embedded default).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import observability
from matchmaker.db import session_scope
from matchmaker.jobs.models import Job, JobKind, JobStatus
from matchmaker.jobs.runner import run_job

log = logging.getLogger("matchmaker.jobs")

QUEUE_NAME = "matchmaker"


# --- Redis and RQ -------------------------------------------------------------------------------


def redis_connection(app: Flask) -> Any:
    """The app's Redis client (one per app; ``redis`` pools connections)."""
    conn = app.extensions.get("matchmaker.redis")
    if conn is None:
        from redis import Redis

        conn = Redis.from_url(
            app.extensions["matchmaker.settings"].redis_url,
            socket_connect_timeout=2,
            socket_timeout=10,
        )
        app.extensions["matchmaker.redis"] = conn
    return conn


def get_queue(app: Flask) -> Any:
    """The RQ queue, or None when jobs run in-process."""
    if not app.extensions["matchmaker.settings"].redis_url:
        return None
    from rq import Queue

    return Queue(QUEUE_NAME, connection=redis_connection(app))


def queue_depth(app: Flask) -> dict[str, int]:
    """Jobs waiting and running: RQ's queue and started registry, else the jobs table."""
    q = get_queue(app)
    if q is not None:
        return {"queued": q.count, "started": q.started_job_registry.count}
    with app.extensions["matchmaker.sessionmaker"]() as session:
        rows = dict(
            session.execute(
                select(Job.status, func.count())
                .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                .group_by(Job.status)
            ).all()
        )
    return {"queued": rows.get(JobStatus.QUEUED, 0), "started": rows.get(JobStatus.RUNNING, 0)}


# --- jobs ---------------------------------------------------------------------------------------


def create_job(
    session: Session,
    kind: JobKind,
    params: dict[str, Any],
    *,
    payload: str | None = None,
    user_id: int | None = None,
) -> Job:
    """Record a queued job (the caller commits, then :func:`submit`s it)."""
    job = Job(kind=kind, params=params, payload=payload, created_by_id=user_id, result={})
    session.add(job)
    session.flush()
    return job


def dispatch(
    app: Flask,
    work: Callable[[], Any],
    *,
    rq_target: str,
    row_id: int,
    what: str,
    wait: bool = False,
) -> Any:
    """Start a tracked run, one way for every kind: here when ``wait`` (its result), on the RQ
    queue when configured (the RQ job; a worker calls ``rq_target(row_id)``), else in a daemon
    thread of this process (the thread). The run records its own outcome on its row."""
    if wait:
        return work()
    q = get_queue(app)
    if q is not None:
        return q.enqueue_call(
            rq_target,
            args=(row_id,),
            timeout=app.extensions["matchmaker.settings"].job_timeout,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=f"matchmaker {what} {row_id}",
        )

    def target() -> None:
        try:
            work()
        except Exception:  # recorded on the run's row
            log.warning("%s %d ended with an error", what, row_id)

    thread = threading.Thread(target=target, name=f"{what.replace(' ', '-')}-{row_id}", daemon=True)
    thread.start()
    return thread


def submit(app: Flask, job_id: int, *, wait: bool = False) -> Any:
    """Start a committed job: on RQ when configured, else in a thread (or here when ``wait``)."""
    started = dispatch(
        app,
        lambda: run_job(app, job_id),
        rq_target="matchmaker.worker.rq_run_job",
        row_id=job_id,
        what="job",
        wait=wait,
    )
    if not wait and not isinstance(started, threading.Thread):  # an RQ job
        with session_scope(app) as session:
            job = session.get(Job, job_id)
            if job is not None:
                job.rq_id = started.id
    return started


# --- operations ---------------------------------------------------------------------------------


def _redis_check(app: Flask) -> tuple[bool, str]:
    try:
        redis_connection(app).ping()
    except Exception as exc:
        return False, f"unavailable: {type(exc).__name__}"
    return True, "ok"


def _update_queue_depth(app: Flask) -> None:
    try:
        depth = queue_depth(app)
    except Exception:  # the scrape still answers; the gauge keeps its last value
        log.warning("could not read the job queue depth")
        return
    for state, n in depth.items():
        observability.JOB_QUEUE_DEPTH.labels(state).set(n)


def init_app(app: Flask) -> None:
    """``/readyz`` checks Redis when jobs run there; ``/metrics`` reads the queue depth."""
    if app.extensions["matchmaker.settings"].redis_url:
        observability.register_check(app, "redis", _redis_check)
    observability.register_scrape(app, _update_queue_depth)
