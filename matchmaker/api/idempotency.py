"""Idempotent retries of POST requests: a request sent with an ``Idempotency-Key`` is done once,
and a retry with the same key and body gets the stored answer again.

:func:`idempotent` is called by the API's ``endpoint`` decorator; views that start a job or a
matching run end with :func:`hand_to_job`, which records it on their claim.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker.api.models import IdempotencyKey
from matchmaker.api.problems import Problem
from matchmaker.config import Settings
from matchmaker.db import after_commit, get_session, session_scope, utcnow

#: The logger the idempotency messages always had (operators filter on it).
log = logging.getLogger("matchmaker.security")

T = TypeVar("T")
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: A claim its request stopped refreshing for this long is released to a retry (as long as a
#: job's heartbeat may be missing before the job counts as failed).
CLAIM_LEASE_SECONDS = 60.0
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


def _key_from_header() -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not _KEY_RE.match(key):
        raise Problem(
            400,
            "Bad request",
            f"{IDEMPOTENCY_HEADER}: 1 to 255 visible ASCII characters (a UUID is a good key)",
            errors=[{"field": IDEMPOTENCY_HEADER, "message": "1 to 255 visible ASCII characters"}],
            code="idempotency-key",
        )
    return key


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode(), request.get_data(cache=True)):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(row: IdempotencyKey, fingerprint: str) -> Response:
    if row.fingerprint != fingerprint:
        raise Problem(
            422,
            "Invalid request",
            f"{IDEMPOTENCY_HEADER}: this key was used for a different request; use a new key",
            errors=[{"field": IDEMPOTENCY_HEADER, "message": "used for a different request"}],
            code="idempotency-key-reused",
        )
    if row.status is None:
        raise Problem(
            409,
            "Conflict",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code="idempotency-in-progress",
            headers={"Retry-After": "2"},
        )
    response = Response(row.body, status=row.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _abandoned(session: Session, row: IdempotencyKey, now: dt.datetime) -> str | None:
    """Why a claim or a stored answer no longer stands for its request (None: it does).

    A claim (no answer yet) is abandoned when its request's process is known to be gone (on
    this machine), or stopped refreshing it for :data:`CLAIM_LEASE_SECONDS` (it died elsewhere),
    or when the job or run it started failed or lost its worker (see
    :func:`matchmaker.jobs.tracking.lost_worker`). A stored answer stays the answer, unless the job or run it accepted lost
    its worker (nothing of it was written): then a retry starts it again.
    """
    from matchmaker.jobs import Job, TrackedStatus
    from matchmaker.jobs.liveness import process_gone
    from matchmaker.jobs.tracking import lost_worker
    from matchmaker.matching.models import MatchingRun

    tracked = [
        (f"job {row.job_id}", session.get(Job, row.job_id) if row.job_id is not None else None),
        (
            f"matching run {row.run_id}",
            session.get(MatchingRun, row.run_id) if row.run_id is not None else None,
        ),
    ]
    if row.status is None:
        lease = row.lease_at or row.created_at
        if process_gone(row.owner):
            return "its request's process ended"
        if (now - lease).total_seconds() > CLAIM_LEASE_SECONDS:
            return "its request stopped"
        for name, started in tracked:
            if started is not None and (
                started.status == TrackedStatus.FAILED or lost_worker(started, now)
            ):
                return f"{name} failed"
        return None
    for name, started in tracked:
        if started is not None and lost_worker(started, now):
            return f"{name} lost its worker"
    return None


def _take_over(session: Session, row: IdempotencyKey) -> bool:
    """Remove an abandoned claim or answer so that this request claims the key afresh.

    Deleting by id is the arbiter: of concurrent retries that all found the row abandoned,
    exactly one deletes it (the others wait for its lock, find nothing and get a 409), and the
    unique (user, key) lets only one new claim in.
    """
    deleted = session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
    return bool(deleted.rowcount)  # type: ignore[attr-defined]


def _key_taken(db: Session, user_id: int, key: str) -> bool:
    """Whether ``user_id`` holds a claim or answer under ``key`` (asked after a failed insert:
    a concurrent request took the key when it does)."""
    found = db.execute(
        select(IdempotencyKey.id).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
        )
    ).first()
    return found is not None


def _in_progress() -> Problem:
    return Problem(
        409,
        "Conflict",
        "Another request with this Idempotency-Key is being processed; retry shortly.",
        code="idempotency-in-progress",
        headers={"Retry-After": "2"},
    )


def idempotent(user_id: int, respond: Callable[[], Response], *, atomic: bool = True) -> Response:
    """Answer a POST that carries an ``Idempotency-Key``.

    The first request runs ``respond``; its 2xx response is stored under (user, key) and a retry
    with the same key and body gets it again, without doing the work twice. ``atomic`` adds the
    stored response to the request's session, so the ``endpoint`` decorator's one commit writes
    the change and its stored response together, or neither. Views that hand work to a job
    commit before the job starts (the job reads the row in another session): they run with
    ``atomic=False``, and a key is claimed before and answered after the view.
    """
    key = _key_from_header()
    fingerprint = _fingerprint()
    settings: Settings = current_app.extensions["matchmaker.settings"]
    session = get_session()
    cutoff = utcnow() - dt.timedelta(hours=settings.idempotency_hours)
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is not None and row.created_at >= cutoff:
        reason = None if row.fingerprint != fingerprint else _abandoned(session, row, utcnow())
        if reason is None:
            return _replay(row, fingerprint)
        if not _take_over(session, row):
            raise _in_progress()
        log.warning("Idempotency-Key of user %d taken over by a retry: %s", user_id, reason)
    new = IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint)
    if atomic:
        return _atomic(new, respond, cutoff)
    return _claimed(new, respond, cutoff)


def _store(session: Session, key: IdempotencyKey, cutoff: dt.datetime) -> None:
    """Add ``key`` (a claim or an answer) to ``session``, after its user's expired keys are gone
    (one of them may be this very key); a concurrent request that took the key first makes this
    a 409, and nothing of this request is kept."""
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < cutoff,
            IdempotencyKey.user_id == key.user_id,
        )
    )
    session.add(key)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        # A request with the same key stored it first (the unique user and key let only one
        # in): the database says so, whatever the error's wording.
        if _key_taken(session, key.user_id, key.key):
            raise _in_progress() from None
        raise


def _atomic(
    answer: IdempotencyKey, respond: Callable[[], Response], cutoff: dt.datetime
) -> Response:
    response = respond()
    if 200 <= response.status_code < 300:
        session = get_session()
        session.flush()  # the view's own work first: its errors are its own
        answer.status = response.status_code
        answer.body = response.get_data(as_text=True)
        _store(session, answer, cutoff)
    return response


def _claimed(
    claim: IdempotencyKey, respond: Callable[[], Response], cutoff: dt.datetime
) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    session = get_session()
    from matchmaker.jobs.liveness import process_identity

    claim.lease_at = utcnow()
    claim.owner = process_identity()
    _store(session, claim, cutoff)
    session.commit()  # the claim stands before the view runs: a concurrent retry sees it
    claim_id = claim.id

    def refresh_lease() -> None:
        try:
            with session_scope(app) as s:
                s.execute(
                    update(IdempotencyKey)
                    .where(IdempotencyKey.id == claim_id, IdempotencyKey.status.is_(None))
                    .values(lease_at=utcnow())
                )
        except Exception:  # a missed refresh is survived: the lease outlasts several
            log.warning("could not refresh the Idempotency-Key claim %d", claim_id)

    from matchmaker.jobs import Heartbeat

    g.idempotency_claim_id = claim_id
    try:
        with Heartbeat(refresh_lease, name=f"idempotency-claim-{claim_id}"):
            response = respond()
    except BaseException:
        with session_scope(app) as s:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))
        raise
    finally:
        g.pop("idempotency_claim_id", None)
    with session_scope(app) as s:
        stored = s.get(IdempotencyKey, claim_id)
        if stored is not None:
            if 200 <= response.status_code < 300:
                stored.status = response.status_code
                stored.body = response.get_data(as_text=True)
            else:
                s.delete(stored)
    return response


def hand_to_job(
    session: Session,
    row: T,
    start: Callable[[], object],
    out: Callable[[T], dict[str, Any]],
    **started: int,
) -> Callable[[], dict[str, Any]]:
    """The end of a view that hands its new ``row`` (a job or a matching run, ``started`` names
    its id) to a job: link it to the request's claim, have ``start`` run once the request
    committed it, and answer with ``out(row)`` as it is then (with ``wait``: finished)."""
    link_claim(session, **started)
    after_commit(start)

    def answer() -> dict[str, Any]:
        session.refresh(row)
        return out(row)

    return answer


def link_claim(session: Session, *, job_id: int | None = None, run_id: int | None = None) -> None:
    """Record on this request's Idempotency-Key claim (if it has one) the job or matching run it
    started, in ``session``'s transaction: a retry then sees when that failed or lost its worker
    and runs again instead of waiting for a request that died."""
    claim_id = g.get("idempotency_claim_id")
    if claim_id is None:
        return
    values: dict[str, Any] = {}
    if job_id is not None:
        values["job_id"] = job_id
    if run_id is not None:
        values["run_id"] = run_id
    if values:
        session.execute(
            update(IdempotencyKey).where(IdempotencyKey.id == claim_id).values(**values)
        )
