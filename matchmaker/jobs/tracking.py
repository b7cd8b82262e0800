"""A tracked run: heartbeat, staleness and throttled progress, for jobs and matching runs alike.

A running job (or matching run) writes a heartbeat every :data:`HEARTBEAT_SECONDS`; one whose
heartbeat is older than :data:`STALE_AFTER_SECONDS` has lost its worker and shows as failed, and
so does one whose worker process is known to be gone (:mod:`~matchmaker.jobs.liveness`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from matchmaker.db import utcnow
from matchmaker.jobs.liveness import process_gone, process_identity
from matchmaker.jobs.models import Job, Tracked, TrackedStatus

log = logging.getLogger("matchmaker.jobs")

#: A running job whose heartbeat is older than this has lost its worker.
STALE_AFTER_SECONDS = 60.0
HEARTBEAT_SECONDS = 10.0
#: Progress is written at most this often (and always at the end).
PROGRESS_SECONDS = 0.5

Progress = Callable[[int, int], None]


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
    running: bool,
    heartbeat_at: dt.datetime | None,
    now: dt.datetime | None = None,
    worker: str | None = None,
) -> bool:
    """Whether something running lost its worker: the process ``worker`` names is known to be
    gone (at once), or it stopped sending heartbeats (after :data:`STALE_AFTER_SECONDS`)."""
    if not running:
        return False
    if process_gone(worker):
        return True
    if heartbeat_at is None:
        return False
    return ((now or utcnow()) - heartbeat_at).total_seconds() > STALE_AFTER_SECONDS


class Tracker:
    """Writes a tracked run's progress (throttled) and a heartbeat, each in its own short
    transaction: one helper for jobs and matching runs alike. ``scope()`` opens a session that
    commits on leaving (``session_scope(app)`` for a job)."""

    def __init__(
        self,
        scope: Callable[[], AbstractContextManager[Session]],
        model: type[Tracked],
        row_id: int,
        echo: Progress | None = None,
        what: str = "job",
    ) -> None:
        self.scope, self.model, self.row_id, self.echo = scope, model, row_id, echo
        self.what = f"{what} {row_id}"
        self.last = 0.0
        self.heartbeat = Heartbeat(self.write, name=f"{self.what.replace(' ', '-')}-heartbeat")

    def write(self, **values: Any) -> None:
        """Set ``values`` on the row with a fresh heartbeat (advisory: a failure is logged)."""
        try:
            with self.scope() as session:
                row = session.get(self.model, self.row_id)
                if row is not None:
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.heartbeat_at = utcnow()
        except Exception:  # progress is advisory; the run itself goes on
            log.warning("could not record progress of %s", self.what)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.echo is not None:
            self.echo(done, total)
        if done >= total or now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.write(done=done, total=total)

    def __enter__(self) -> Tracker:
        self.heartbeat.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.heartbeat.__exit__(*exc)


def start(row: Tracked) -> None:
    """Mark ``row`` running in this process, from nothing done."""
    row.status, row.error, row.done = TrackedStatus.RUNNING, "", 0
    row.heartbeat_at, row.finished_at = utcnow(), None
    row.worker = process_identity()


def lost_worker(row: Tracked, now: dt.datetime | None = None) -> bool:
    """A running job or matching run whose worker died mid-run (its process is gone or its
    heartbeat stopped)."""
    return heartbeat_lost(row.status == TrackedStatus.RUNNING, row.heartbeat_at, now, row.worker)


def shown_status(row: Tracked, lost: str) -> tuple[str, str]:
    """The status and error to show for ``row``: a run that lost its worker shows as failed
    with the message ``lost``."""
    if lost_worker(row):
        return TrackedStatus.FAILED.value, lost
    return row.status.value, row.error


def is_stale(job: Job, now: dt.datetime | None = None) -> bool:
    """A running job whose worker died mid-job (its process is gone or its heartbeat stopped)."""
    return lost_worker(job, now)


def job_out(job: Job) -> dict[str, Any]:
    """A job as the API shows it; a job that lost its worker shows as failed."""
    status, error = shown_status(
        job,
        "The worker stopped before the job finished; nothing of it was written. Submit it again.",
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
