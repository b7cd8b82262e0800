"""JSON API of background jobs: start a bulk import, follow any job's progress."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Literal

from flask import Blueprint, current_app, g
from pydantic import BaseModel, Field

from matchmaker import imports, jobs
from matchmaker.api.idempotency import link_claim
from matchmaker.api.problems import Problem, not_found
from matchmaker.api.spec import endpoint
from matchmaker.db import get_session

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")
OFFICE = ("office", "admin")


class ImportIn(BaseModel):
    """A file to import, sent as text inside JSON (large files: ``matchmaker import FILE``)."""

    model_config = {"extra": "forbid"}

    data: str = Field(min_length=1, description="The file's text: JSON Lines or CSV")
    kind: imports.ImportKind | None = Field(
        None, description="groups, challenges or publications; detected from the rows if absent"
    )
    format: Literal["jsonl", "csv"] | None = Field(
        None, description="Detected from the file name or the first character if absent"
    )
    filename: str | None = Field(None, max_length=200)
    wait: bool = Field(False, description="Run it before answering (small files)")


class ImportError_(BaseModel):
    line: int
    field: str
    message: str


class JobOut(BaseModel):
    id: int
    kind: Literal["import", "reembed"]
    status: Literal["queued", "running", "finished", "failed"]
    done: int = Field(description="Passages encoded so far")
    total: int = Field(description="Passages to encode")
    params: dict[str, Any]
    result: dict[str, Any] = Field(
        description="Counts when finished (created, updated, unchanged, ...); "
        "``errors`` per row when the file was rejected"
    )
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@endpoint(
    bp,
    "/imports",
    "POST",
    summary="Import groups, publications or challenges from CSV or JSON Lines (all or nothing)",
    roles=OFFICE,
    body=ImportIn,
    response=JobOut,
    status=202,
)
def start_import(body: ImportIn) -> dict[str, Any]:
    # Validate now so that a bad file is a 422 naming every bad row, and nothing is queued.
    try:
        kind, rows = imports.parse(body.data, body.kind, body.format, body.filename or "")
    except imports.ImportInvalid as exc:
        raise Problem(
            422,
            "Invalid request",
            str(exc),
            errors=[
                {"field": f"data.line[{e['line']}].{e['field']}", "message": e["message"]}
                for e in exc.errors
            ],
            code="validation",
        ) from None
    except ValueError as exc:
        raise Problem(
            422,
            "Invalid request",
            f"data: {exc}",
            errors=[{"field": "data", "message": str(exc)}],
            code="validation",
        ) from None
    session = get_session()
    fmt = body.format or imports.detect_format(body.data, body.filename or "")
    job = jobs.create_job(
        session,
        jobs.JobKind.IMPORT,
        {"kind": kind.value, "format": fmt, "filename": body.filename or "", "rows": len(rows)},
        payload=body.data,
        user_id=g.user.id,
    )
    link_claim(session, job_id=job.id)
    session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with contextlib.suppress(imports.ImportInvalid):  # recorded on the job's row
        jobs.submit(app, job.id, wait=body.wait)
    session.refresh(job)
    return jobs.job_out(job)


@endpoint(
    bp,
    "/jobs/<int:job_id>",
    summary="A background job's progress and outcome",
    roles=OFFICE,
    response=JobOut,
)
def get_job(job_id: int) -> dict[str, Any]:
    job = get_session().get(jobs.Job, job_id)
    if job is None:
        raise not_found(f"Job {job_id}")
    return jobs.job_out(job)
