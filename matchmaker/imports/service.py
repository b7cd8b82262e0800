"""Import use cases: validate a file, encode its passages, write it, as a job or directly.

Order of work, chosen so that a killed worker leaves nothing half-written: parse and validate
(:mod:`~matchmaker.imports.parsing`); encode the passages the embedding store lacks (with
progress — vectors are a cache keyed by model and text, safe to keep); then write every row in
one transaction (:mod:`~matchmaker.imports.writing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask

from matchmaker.db import session_scope
from matchmaker.imports.parsing import parse
from matchmaker.imports.schemas import ImportKind, Row
from matchmaker.imports.writing import apply
from matchmaker.jobs.models import JobKind
from matchmaker.jobs.runner import JobWork, register_handler
from matchmaker.jobs.tracking import Progress
from matchmaker.ranking.types import Document, Profile

#: Passages encoded per chunk: large enough for sentence-transformers' length sorting to pay,
#: small enough for progress every few seconds.
ENCODE_CHUNK = 512


def profiles_of(kind: ImportKind, rows: Sequence[Row]) -> list[Profile]:
    """The rows as the ranker will see them once stored (the same passages, hence vectors)."""
    from matchmaker.matching.profiles import MATCHABLE_STATUSES
    from matchmaker.ranking.seed import challenge_profile, group_profile

    profiles: list[Profile] = []
    for row in rows:
        d = row.data
        if kind == ImportKind.GROUPS:
            profiles.append(
                group_profile(
                    {
                        "key": row.key,
                        "name": d.name,
                        "capabilities": d.capabilities,
                        "methods": d.methods or "",
                        "keywords": list(d.keywords),
                        "publications": [
                            {"title": p.title, "abstract": p.abstract or ""} for p in d.publications
                        ],
                    }
                )
            )
        elif kind == ImportKind.CHALLENGES:
            if d.status in MATCHABLE_STATUSES:
                profiles.append(
                    challenge_profile({"key": row.key, "title": d.title, "summary": d.summary})
                )
        else:
            profiles.append(
                Profile(id=row.key, documents=(Document(row.key, d.title, d.abstract or ""),))
            )
    return profiles


def run_import(
    app: Flask,
    text: str,
    *,
    kind: str | None = None,
    fmt: str | None = None,
    filename: str = "",
    user_id: int | None = None,
    job_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Validate, encode (with progress), then write everything in one transaction."""
    from matchmaker.matching.engine import get_matcher

    started = dt.datetime.now(dt.UTC)
    import_kind, rows = parse(text, kind, fmt, filename)
    matcher = get_matcher(app)
    encoded = matcher.warm_store(profiles_of(import_kind, rows), progress, batch=ENCODE_CHUNK)
    with session_scope(app) as session:
        counts = apply(session, import_kind, rows, user_id=user_id, job_id=job_id)
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return {
        "kind": import_kind.value,
        "rows": len(rows),
        **counts,
        "passages_encoded": encoded,
        "seconds": round(seconds, 2),
    }


def _import_job(app: Flask, work: JobWork, progress: Progress) -> dict[str, Any]:
    return run_import(
        app,
        work.payload or "",
        kind=work.params.get("kind"),
        fmt=work.params.get("format"),
        user_id=work.user_id,
        job_id=work.id,
        progress=progress,
    )


def init_app(app: Flask) -> None:
    """Import jobs run :func:`run_import` on the job's file."""
    register_handler(app, JobKind.IMPORT, _import_job)
