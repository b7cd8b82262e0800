"""The job table: one row per background job (import or re-embedding), its progress and outcome."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk, value_enum


class JobKind(enum.StrEnum):
    IMPORT = "import"
    REEMBED = "reembed"


class TrackedStatus(enum.StrEnum):
    """Where a tracked run (a job or a matching run) stands."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


#: A job's status (the tracked-run status under the jobs' name).
JobStatus = TrackedStatus


class Tracked:
    """The columns every tracked run has (the one table shape of jobs and matching runs):
    its status, progress (done / total), who started it and when, the heartbeat and the process
    that runs it (how a run whose worker died is told from a live one), when it ended and why it
    failed. :mod:`~matchmaker.jobs.tracking` reads and writes them."""

    status: Mapped[TrackedStatus] = mapped_column(
        value_enum(TrackedStatus), default=TrackedStatus.QUEUED
    )
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    #: Written every few seconds while it runs; a stale one means the worker died.
    heartbeat_at: Mapped[dt.datetime | None]
    #: The process running it (:func:`~matchmaker.jobs.liveness.process_identity`).
    worker: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str]


class Job(Tracked, Base):
    """A background job (import or re-embedding) with its progress and outcome."""

    __tablename__ = "jobs"

    id: Mapped[intpk]
    kind: Mapped[JobKind] = mapped_column(value_enum(JobKind))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The imported file's text (so that a worker on another host can read it).
    payload: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(String(2000), default="")
    rq_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime | None]
