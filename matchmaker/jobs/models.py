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


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Job(Base):
    """A background job (import or re-embedding) with its progress and outcome."""

    __tablename__ = "jobs"

    id: Mapped[intpk]
    kind: Mapped[JobKind] = mapped_column(value_enum(JobKind))
    status: Mapped[JobStatus] = mapped_column(
        value_enum(JobStatus),
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
    #: The process running the job (:func:`~matchmaker.jobs.liveness.process_identity`).
    worker: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[dt.datetime | None]
