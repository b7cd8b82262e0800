"""Running a job: the registry of what each kind of job does, and the run that records it.

The runner knows no domain: a feature registers the handler of its kind of job
(:func:`register_handler`, in its ``init_app``) and :func:`run_job` dispatches through the
registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from matchmaker import observability
from matchmaker.db import session_scope, utcnow
from matchmaker.jobs.models import Job, JobKind, JobStatus
from matchmaker.jobs.tracking import Progress, Tracker, start

log = logging.getLogger("matchmaker.jobs")


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


def run_job(app: Flask, job_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """Run a job here: mark it running, do its work with progress, record the outcome.

    The work is the handler registered for the job's kind (:func:`register_handler`); a kind
    without one fails the job. The work writes its results in one transaction; if this process
    dies, nothing of them is written and the job row shows it lost its worker (see
    :func:`matchmaker.jobs.tracking.job_out`).
    """
    token = observability.job_id_var.set(str(job_id))
    try:
        with session_scope(app) as session:
            job = session.get(Job, job_id)
            if job is None:
                raise ValueError(f"job {job_id} does not exist")
            start(job)
            job.started_at = job.heartbeat_at
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
            with Tracker(lambda: session_scope(app), Job, job_id, progress) as tracker:
                result = handler(app, work, tracker)
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
