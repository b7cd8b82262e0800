"""Background jobs: bulk imports, re-embedding and portfolio matching runs.

With ``MATCHMAKER_REDIS_URL`` set, jobs go to an RQ queue on Redis and ``matchmaker worker``
processes run them; without it, a job runs in a thread of the submitting process (the embedded
default). Either way a job's state and progress (done / total) are rows in the database, where
the API, the pages and the CLI read them, and every job writes its results in one transaction:
a worker killed mid-job leaves nothing half-written, and running the job again gives the same
result.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import JSON, Enum, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from matchmaker.db import Base, created_at, intpk, session_scope, utcnow

log = logging.getLogger("matchmaker.jobs")

QUEUE_NAME = "matchmaker"
#: A running job whose heartbeat is older than this has lost its worker.
STALE_AFTER_SECONDS = 60.0
HEARTBEAT_SECONDS = 10.0
#: Progress is written at most this often (and always at the end).
PROGRESS_SECONDS = 0.5

Progress = Callable[[int, int], None]


class JobKind(enum.StrEnum):
    IMPORT = "import"
    REEMBED = "reembed"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


def _values(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]


class Job(Base):
    """A background job (import or re-embedding) with its progress and outcome."""

    __tablename__ = "jobs"

    id: Mapped[intpk]
    kind: Mapped[JobKind] = mapped_column(
        Enum(JobKind, native_enum=False, length=20, values_callable=_values)
    )
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20, values_callable=_values),
        default=JobStatus.QUEUED,
    )
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The imported file's text (so that a worker on another host can read it).
    payload: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(String(2000), default="")
    rq_id: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    started_at: Mapped[dt.datetime | None]
    #: Written every few seconds while the job runs; a stale one means the worker died.
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


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
    worker = SimpleWorker([get_queue(app)], connection=redis_connection(app))
    worker.work(burst=burst, logging_level=app.extensions["matchmaker.settings"].log_level)


# Entry points RQ calls by name in the worker process.


def rq_run_job(job_id: int) -> dict[str, Any]:
    """Run job ``job_id`` in this worker."""
    return run_job(worker_app(), job_id)


def rq_run_matching(run_id: int) -> None:
    """Execute matching run ``run_id`` in this worker."""
    run_matching(worker_app(), run_id)


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


def submit(app: Flask, job_id: int, *, wait: bool = False) -> Any:
    """Start a committed job: on RQ when configured, else in a thread (or here when ``wait``)."""
    if wait:
        return run_job(app, job_id)
    q = get_queue(app)
    if q is not None:
        rq_job = q.enqueue_call(
            "matchmaker.jobs.rq_run_job",
            args=(job_id,),
            timeout=app.extensions["matchmaker.settings"].job_timeout,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=f"matchmaker job {job_id}",
        )
        with session_scope(app) as session:
            job = session.get(Job, job_id)
            if job is not None:
                job.rq_id = rq_job.id
        return rq_job

    def target() -> None:
        try:
            run_job(app, job_id)
        except Exception:  # recorded on the job row
            log.warning("job %d ended with an error", job_id)

    thread = threading.Thread(target=target, name=f"job-{job_id}", daemon=True)
    thread.start()
    return thread


class Heartbeat:
    """Calls ``beat()`` every :data:`HEARTBEAT_SECONDS` in a daemon thread while open: the sign
    of life that tells a running job or matching run from one whose worker died."""

    def __init__(self, beat: Callable[[], None], name: str) -> None:
        self.beat = beat
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            self.beat()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def heartbeat_lost(
    running: bool, heartbeat_at: dt.datetime | None, now: dt.datetime | None = None
) -> bool:
    """Whether something running stopped sending heartbeats (its worker died)."""
    if not running or heartbeat_at is None:
        return False
    return ((now or utcnow()) - heartbeat_at).total_seconds() > STALE_AFTER_SECONDS


class _Reporter:
    """Writes a job's progress (throttled) and a heartbeat, each in its own short transaction."""

    def __init__(self, app: Flask, job_id: int, echo: Progress | None) -> None:
        self.app, self.job_id, self.echo = app, job_id, echo
        self.last = 0.0
        self.heartbeat = Heartbeat(self._write, name=f"job-{job_id}-heartbeat")

    def _write(self, **values: Any) -> None:
        try:
            with session_scope(self.app) as session:
                job = session.get(Job, self.job_id)
                if job is not None:
                    for key, value in values.items():
                        setattr(job, key, value)
                    job.heartbeat_at = utcnow()
        except Exception:  # progress is advisory; the job itself goes on
            log.warning("could not record progress of job %d", self.job_id)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.echo is not None:
            self.echo(done, total)
        if done >= total or now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self._write(done=done, total=total)

    def __enter__(self) -> _Reporter:
        self.heartbeat.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.heartbeat.__exit__(*exc)


def run_job(app: Flask, job_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """Run a job here: mark it running, do its work with progress, record the outcome.

    The work writes its results in one transaction; if this process dies, nothing of them is
    written and the job row shows it lost its worker (see :func:`job_out`).
    """
    from matchmaker import imports
    from matchmaker.observability import job_id_var

    token = job_id_var.set(str(job_id))
    try:
        with session_scope(app) as session:
            job = session.get(Job, job_id)
            if job is None:
                raise ValueError(f"job {job_id} does not exist")
            job.status, job.error, job.done = JobStatus.RUNNING, "", 0
            job.started_at, job.heartbeat_at, job.finished_at = utcnow(), utcnow(), None
            kind, params, payload, user_id = (
                job.kind,
                dict(job.params),
                job.payload,
                job.created_by_id,
            )
        log.info("job %d (%s) started", job_id, kind.value)
        try:
            with _Reporter(app, job_id, progress) as reporter:
                if kind == JobKind.IMPORT:
                    result = imports.run_import(
                        app,
                        payload or "",
                        kind=params.get("kind"),
                        fmt=params.get("format"),
                        user_id=user_id,
                        job_id=job_id,
                        progress=reporter,
                    )
                elif kind == JobKind.REEMBED:
                    result = reembed(app, progress=reporter, prune=bool(params.get("prune")))
                else:  # pragma: no cover - the enum has no other members
                    raise ValueError(f"unknown job kind {kind}")
        except imports.ImportInvalid as exc:
            _finish(app, job_id, JobStatus.FAILED, {"errors": exc.errors}, str(exc))
            log.warning("job %d rejected: %s", job_id, exc)
            raise
        except Exception as exc:
            _finish(app, job_id, JobStatus.FAILED, {}, f"{type(exc).__name__}: {exc}")
            log.exception("job %d failed", job_id)
            raise
        _finish(app, job_id, JobStatus.FINISHED, result, "")
        log.info("job %d finished: %s", job_id, result)
        return result
    finally:
        job_id_var.reset(token)


def _finish(app: Flask, job_id: int, status: JobStatus, result: dict[str, Any], error: str) -> None:
    with session_scope(app) as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.status, job.result, job.error = status, result, error[:2000]
            job.finished_at = utcnow()
            if status == JobStatus.FINISHED:
                job.done = job.total


def is_stale(job: Job, now: dt.datetime | None = None) -> bool:
    """A running job whose worker stopped sending heartbeats (it died mid-job)."""
    return heartbeat_lost(job.status == JobStatus.RUNNING, job.heartbeat_at, now)


def job_out(job: Job) -> dict[str, Any]:
    """A job as the API shows it; a job that lost its worker shows as failed."""
    status, error = job.status.value, job.error
    if is_stale(job):
        status = JobStatus.FAILED.value
        error = (
            "The worker stopped before the job finished; nothing of it was written. "
            "Submit it again."
        )
    return {
        "id": job.id,
        "kind": job.kind.value,
        "status": status,
        "done": job.done,
        "total": job.total,
        "params": job.params,
        "result": job.result,
        "error": error,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


# --- re-embedding -------------------------------------------------------------------------------


def reembed(app: Flask, *, progress: Progress | None = None, prune: bool = False) -> dict[str, Any]:
    """Encode every passage of every group and open challenge the store lacks for the configured
    model (after a model change), then bump the index version so that workers reload.

    Vectors are a cache keyed by (model, text): a killed re-embedding keeps what it stored, and
    running it again encodes only the rest. ``prune`` deletes vectors of other models.
    """
    from sqlalchemy import delete

    from matchmaker.matching import index_state
    from matchmaker.matching.engine import (
        get_matcher,
        load_challenge_profiles,
        load_group_profiles,
    )
    from matchmaker.matching.models import PassageEmbedding

    matcher = get_matcher(app)
    with app.extensions["matchmaker.sessionmaker"]() as session:
        profiles = [*load_group_profiles(session), *load_challenge_profiles(session)]
    encoded = matcher.warm_store(profiles, progress, batch=256)
    pruned = 0
    with session_scope(app) as session:
        if prune:
            pruned = session.execute(
                delete(PassageEmbedding).where(
                    PassageEmbedding.model_id != matcher.embedder.model_id
                )
            ).rowcount  # type: ignore[attr-defined]
        index_state.bump(session)
    return {
        "model_id": matcher.embedder.model_id,
        "profiles": len(profiles),
        "encoded": encoded,
        "pruned": pruned,
    }


# --- matching runs ------------------------------------------------------------------------------


def run_matching(app: Flask, run_id: int) -> None:
    """Execute matching run ``run_id`` with ``app``'s database and matcher."""
    from matchmaker.matching.engine import get_matcher
    from matchmaker.matching.service import execute_run

    execute_run(app.extensions["matchmaker.sessionmaker"], get_matcher(app), run_id)


def submit_matching_run(app: Flask, run_id: int, *, wait: bool = False) -> Any:
    """Start a matching run on RQ when configured, else in a thread (or right here when ``wait``).

    The run's row carries its progress; it replaces its proposals in one transaction.
    """
    if wait:
        run_matching(app, run_id)
        return None
    q = get_queue(app)
    if q is not None:
        return q.enqueue_call(
            "matchmaker.jobs.rq_run_matching",
            args=(run_id,),
            timeout=app.extensions["matchmaker.settings"].job_timeout,
            result_ttl=24 * 3600,
            description=f"matching run {run_id}",
        )

    def target() -> None:
        try:
            run_matching(app, run_id)
        except Exception:  # recorded on the run by execute_run
            log.warning("matching run %d ended with an error", run_id)

    thread = threading.Thread(target=target, name=f"matching-run-{run_id}", daemon=True)
    thread.start()
    return thread
