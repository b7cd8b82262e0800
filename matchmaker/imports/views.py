"""JSON API of imports and background jobs: start a bulk import, follow any job's progress."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g

from matchmaker import jobs
from matchmaker.accounts.models import OFFICE_ROLES
from matchmaker.api.idempotency import hand_to_job
from matchmaker.api.problems import Problem
from matchmaker.api.spec import endpoint
from matchmaker.db import get_session
from matchmaker.errors import NotFound
from matchmaker.imports.parsing import detect_format, parse
from matchmaker.imports.schemas import ImportIn, ImportInvalid, JobOut

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")


@endpoint(bp, "/imports", "POST", roles=OFFICE_ROLES, body=ImportIn, response=JobOut, status=202)
def start_import(body: ImportIn) -> Callable[[], dict[str, Any]]:
    # Validate now so that a bad file is a 422 naming every bad row, and nothing is queued.
    """Import groups, publications or challenges from CSV or JSON Lines (all or nothing)."""
    try:
        kind, rows = parse(body.data, body.kind, body.format, body.filename or "")
    except ImportInvalid as exc:
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
    fmt = body.format or detect_format(body.data, body.filename or "")
    job = jobs.create_job(
        session,
        jobs.JobKind.IMPORT,
        {"kind": kind.value, "format": fmt, "filename": body.filename or "", "rows": len(rows)},
        payload=body.data,
        user_id=g.user.id,
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def start() -> None:
        with contextlib.suppress(ImportInvalid):  # recorded on the job's row
            jobs.submit(app, job.id, wait=body.wait)

    return hand_to_job(session, job, start, jobs.job_out, job_id=job.id)


@endpoint(bp, "/jobs/<int:job_id>", roles=OFFICE_ROLES, response=JobOut)
def get_job(job_id: int) -> dict[str, Any]:
    """A background job's progress and outcome."""
    job = get_session().get(jobs.Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id}")
    return jobs.job_out(job)
