"""Background jobs: the job table, the queue and a registry of what each kind of job does.

The job runner knows no domain: a feature registers the handler of its kind of job
(:func:`register_handler`, in its ``init_app``) and :func:`run_job` dispatches through the
registry. With ``MATCHMAKER_REDIS_URL`` set, jobs go to an RQ queue on Redis and ``matchmaker
worker`` processes (:mod:`matchmaker.worker`) run them; without it, a job runs in a thread of the
submitting process (the embedded default). Either way a job's state and progress (done / total)
are rows in the database, where the API, the pages and the CLI read them, and every job writes
its results in one transaction: a worker killed mid-job leaves nothing half-written, and running
the job again gives the same result.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import JSON, Enum, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from matchmaker import observability
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


# --- what each kind of job does -------------------------------------------------------------


@dataclass(frozen=True)
class JobWork:
    """What a handler gets to do its job: the job's id, kind, parameters, payload and author."""

    id: int
    kind: JobKind
    params: dict[str, Any]
    payload: str | None
    user_id: int | None


#: ``handler(app, work, progress)`` does a job's work and returns its result.
Handler = Callable[[Flask, JobWork, Progress], dict[str, Any]]

_EXTENSION = "matchmaker.job_handlers"
#: Handlers for every app of the process (``register_handler(None, ...)``).
_HANDLERS: dict[JobKind, Handler] = {}


class JobRejected(Exception):
    """The job's input is invalid: the job fails with :attr:`result` and a warning (no traceback).

    Handlers raise a subclass (an import's per-row errors, say).
    """

    @property
    def result(self) -> dict[str, Any]:
        return {}


class NoHandler(LookupError):
    """No handler is registered for a job's kind (the feature's ``init_app`` did not run)."""


def register_handler(app: Flask | None, kind: JobKind, fn: Handler) -> None:
    """Make ``fn`` do the jobs of ``kind``: for ``app``, or for every app when ``app`` is None.

    A feature calls this in its ``init_app``; a handler registered for the app wins over one for
    every app.
    """
    if app is None:
        _HANDLERS[kind] = fn
    else:
        app.extensions.setdefault(_EXTENSION, {})[kind] = fn


def handler_for(app: Flask, kind: JobKind) -> Handler:
    """The handler of ``kind`` for ``app``; :class:`NoHandler` if there is none."""
    fn = app.extensions.get(_EXTENSION, {}).get(kind) or _HANDLERS.get(kind)
    if fn is None:
        raise NoHandler(f"no handler is registered for jobs of kind '{kind.value}'")
    return fn


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
            "matchmaker.worker.rq_run_job",
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

    The work is the handler registered for the job's kind (:func:`register_handler`); a kind
    without one fails the job. The work writes its results in one transaction; if this process
    dies, nothing of them is written and the job row shows it lost its worker (see
    :func:`job_out`).
    """
    token = observability.job_id_var.set(str(job_id))
    try:
        with session_scope(app) as session:
            job = session.get(Job, job_id)
            if job is None:
                raise ValueError(f"job {job_id} does not exist")
            job.status, job.error, job.done = JobStatus.RUNNING, "", 0
            job.started_at, job.heartbeat_at, job.finished_at = utcnow(), utcnow(), None
            work = JobWork(
                id=job_id,
                kind=job.kind,
                params=dict(job.params),
                payload=job.payload,
                user_id=job.created_by_id,
            )
        log.info("job %d (%s) started", job_id, work.kind.value)
        try:
            handler = handler_for(app, work.kind)
            with _Reporter(app, job_id, progress) as reporter:
                result = handler(app, work, reporter)
        except JobRejected as exc:
            _finish(app, job_id, JobStatus.FAILED, exc.result, str(exc))
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
        observability.job_id_var.reset(token)


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
