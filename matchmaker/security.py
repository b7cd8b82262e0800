"""Protections every response and request shares: security headers, cookie flags, rate limits,
and idempotent retries of POST requests (``Idempotency-Key``).

``init_app`` wires all of it; :func:`idempotent` is called by the API's ``endpoint`` decorator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limit, Limiter
from limits import parse_many
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.middleware.proxy_fix import ProxyFix

from matchmaker.api.problems import Problem, problem_response, wants_problem_json
from matchmaker.config import Settings
from matchmaker.db import Base, created_at, get_session, intpk, session_scope, utcnow

log = logging.getLogger("matchmaker.security")

# --- headers and cookies ---------------------------------------------------------------------

#: Pages load scripts, styles and images from this site only; no inline script or style ever
#: runs, and no other site may frame a page (clickjacking).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: JSON is data, never a document: nothing may load from it and nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def _security_headers(settings: Settings, page_csp: str) -> Callable[[Response], Response]:
    def add_headers(response: Response) -> Response:
        headers = response.headers
        is_api = request.path.startswith("/api/") and request.path != "/api/docs"
        headers.setdefault("Content-Security-Policy", API_CSP if is_api else page_csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if settings.behind_tls or request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.path.startswith("/static/"):
            # Responses carry confidential details and personal data: no shared cache keeps them.
            headers.setdefault("Cache-Control", "no-store")
        return response

    return add_headers


def _cookie_config(app: Flask, settings: Settings) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.behind_tls,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.behind_tls,
    )


# --- rate limits -----------------------------------------------------------------------------


def client_address() -> str:
    """The caller's address: behind ``MATCHMAKER_TRUSTED_PROXIES`` proxies, the one they saw
    (ProxyFix sets ``remote_addr`` from ``X-Forwarded-For``)."""
    return "addr:" + (request.remote_addr or "unknown")


def token_prefix_key() -> str:
    """The start of the presented credential, hashed: failures with one token are counted
    together wherever they come from."""
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    prefix = token.strip()[:10]
    return "prefix:" + hashlib.sha256(prefix.encode("utf-8")).hexdigest()[:32]


def _not_an_unknown_token() -> bool:
    # A request with a valid token (resolved before the limits are checked, api/auth.py) is never
    # refused by the unknown-token limits: a flood of random tokens from one address (or from
    # everyone behind one proxy) cannot lock out the callers who have a real one.
    return not _is_api() or "Authorization" not in request.headers or g.get("user") is not None


def caller_key() -> str:
    """A bearer token's hash (so counters never hold a token), else the caller's address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode("utf-8")).hexdigest()[:32]
    return client_address()


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _limits(settings: Settings) -> list[Limit]:
    def message(what: str) -> str:
        return f"Too many {what}; wait for the time in Retry-After and try again."

    return [
        Limit(
            settings.rate_limit_api,
            key_function=caller_key,
            scope="api",
            shared=True,
            exempt_when=lambda: not _is_api(),
            error_message=message("API requests"),
        ),
        Limit(
            settings.rate_limit_writes,
            key_function=caller_key,
            scope="api-writes",
            shared=True,
            methods=["POST", "PUT", "PATCH", "DELETE"],
            exempt_when=lambda: not _is_api(),
            error_message=message("changes"),
        ),
        Limit(
            settings.rate_limit_auth_failures,
            key_function=client_address,
            scope="api-auth-failures",
            shared=True,
            exempt_when=_not_an_unknown_token,
            deduct_when=lambda response: response.status_code == 401,
            error_message=message("requests with an unknown token"),
        ),
        Limit(
            settings.rate_limit_auth_failures,
            key_function=token_prefix_key,
            scope="api-auth-failures-prefix",
            shared=True,
            exempt_when=_not_an_unknown_token,
            deduct_when=lambda response: response.status_code == 401,
            error_message=message("requests with an unknown token"),
        ),
        Limit(
            settings.rate_limit_signin,
            key_function=client_address,
            scope="signin",
            shared=True,
            methods=["POST"],
            exempt_when=lambda: request.endpoint != "auth.login",
            error_message=message("sign-in attempts"),
        ),
    ]


def _limit_storage(settings: Settings) -> str:
    if settings.rate_limit_storage:
        return settings.rate_limit_storage
    return settings.redis_url or "memory://"


def per_process_limits_warning(settings: Settings, workers: int) -> str | None:
    """What to warn about when ``workers`` processes would each count the limits alone."""
    if workers <= 1 or not _limit_storage(settings).startswith("memory"):
        return None
    return (
        f"rate limits are counted in memory by each of the {workers} workers, so each limit "
        "allows up to that many times its requests; set MATCHMAKER_REDIS_URL (or "
        "MATCHMAKER_RATE_LIMIT_STORAGE) to share the counters"
    )


def _declared_workers() -> int:
    """The number of web workers the environment declares (``WEB_CONCURRENCY``, which the
    gunicorn configurations read); 1 when it says nothing."""
    try:
        return int(os.environ.get("WEB_CONCURRENCY", "1"))
    except ValueError:
        return 1


def _retry_after_only_where_set(app: Flask) -> tuple[Callable[[Response], Response], ...]:
    """Flask-Limiter puts ``Retry-After`` on every response it counts, overriding the app's own
    (the 503's ``Retry-After: 2``). These hooks, around its own, keep the app's header as the
    app set it and let the limiter's stand only on a 429."""

    def remember(response: Response) -> Response:  # runs before the limiter's hook
        g.app_retry_after = response.headers.get("Retry-After")
        return response

    def restore(response: Response) -> Response:  # runs after the limiter's hook
        own = g.pop("app_retry_after", None)
        if own is not None:
            response.headers["Retry-After"] = own
        elif response.status_code != 429:
            response.headers.pop("Retry-After", None)
        return response

    return remember, restore


def init_limiter(app: Flask, settings: Settings) -> Limiter:
    """Flask-Limiter with the limits from ``settings``; if Redis is down, counting goes on in
    memory (per process) instead of failing requests."""
    for name in (
        "rate_limit_api",
        "rate_limit_writes",
        "rate_limit_auth_failures",
        "rate_limit_signin",
    ):
        value = getattr(settings, name)
        try:
            parse_many(value) if value else None
        except ValueError as exc:
            raise ValueError(f"MATCHMAKER_{name.upper()}: {exc}") from exc
    limiter = Limiter(
        client_address,
        default_limits=_limits(settings),  # type: ignore[arg-type]
        storage_uri=_limit_storage(settings),
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1}
        if _limit_storage(settings).startswith("redis")
        else {},
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="matchmaker",
    )
    remember, restore = _retry_after_only_where_set(app)
    app.after_request(restore)  # after_request hooks run in reverse order of registration
    limiter.init_app(app)
    app.after_request(remember)
    app.extensions["matchmaker.limiter"] = limiter
    warning = per_process_limits_warning(settings, _declared_workers())
    if warning:
        log.warning(warning)
    return limiter


# --- database outages ------------------------------------------------------------------------


def _is_disconnect(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, (InterfaceError, OperationalError))


def _database_errors(app: Flask) -> None:
    """A connection lost mid-request (the server restarted) is a 503 to retry, like an outage."""

    @app.errorhandler(DBAPIError)
    def _dbapi_error(exc: DBAPIError) -> Any:
        if not _is_disconnect(exc):
            # Any other database error is a bug: the same answer as every unexpected error.
            if app.config.get("PROPAGATE_EXCEPTIONS") or app.testing:
                raise exc
            log.error("database error on %s %s", request.method, request.path, exc_info=exc)
            if not wants_problem_json():
                from flask import render_template

                return render_template("error.html", status=500), 500
            return problem_response(
                Problem(
                    500,
                    "Internal server error",
                    "Something went wrong on our side.",
                    code="internal",
                )
            )
        app.logger.warning("database connection lost: %s", exc.orig)
        return problem_response(
            Problem(
                503,
                "Service unavailable",
                "The database is unavailable; retry shortly.",
                code="unavailable",
                headers={"Retry-After": "2"},
            )
        )


# --- idempotency keys ------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: A claim its request stopped refreshing for this long is released to a retry (as long as a
#: job's heartbeat may be missing before the job counts as failed).
CLAIM_LEASE_SECONDS = 60.0
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKey(Base):
    """The stored outcome of a POST sent with an ``Idempotency-Key``: a retry gets it again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: None while a request that hands its work to a job is still running.
    status: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at] = mapped_column(index=True)
    #: When the claim was taken or last refreshed by its running request (None: created_at);
    #: a claim not refreshed for :data:`CLAIM_LEASE_SECONDS` lost its request.
    lease_at: Mapped[dt.datetime | None]
    #: The import job or matching run the request started (see :func:`link_claim`).
    job_id: Mapped[int | None]
    run_id: Mapped[int | None]


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

    A claim (no answer yet) is abandoned when its request stopped refreshing it for
    :data:`CLAIM_LEASE_SECONDS` (the process died), or when the job or run it started failed or
    lost its worker. A stored answer stays the answer, unless the job or run it accepted lost
    its worker (nothing of it was written): then a retry starts it again.
    """
    from matchmaker.jobs import Job, JobStatus, is_stale
    from matchmaker.matching.models import MatchingRun, RunStatus
    from matchmaker.matching.service import run_is_stale

    job = session.get(Job, row.job_id) if row.job_id is not None else None
    run = session.get(MatchingRun, row.run_id) if row.run_id is not None else None
    if row.status is None:
        lease = row.lease_at or row.created_at
        if (now - lease).total_seconds() > CLAIM_LEASE_SECONDS:
            return "its request stopped"
        if job is not None and (job.status == JobStatus.FAILED or is_stale(job, now)):
            return f"job {job.id} failed"
        if run is not None and (run.status == RunStatus.FAILED or run_is_stale(run, now)):
            return f"matching run {run.id} failed"
        return None
    if job is not None and is_stale(job, now):
        return f"job {job.id} lost its worker"
    if run is not None and run_is_stale(run, now):
        return f"matching run {run.id} lost its worker"
    return None


def _take_over(session: Session, row: IdempotencyKey) -> bool:
    """Remove an abandoned claim or answer so that this request claims the key afresh.

    Deleting by id is the arbiter: of concurrent retries that all found the row abandoned,
    exactly one deletes it (the others wait for its lock, find nothing and get a 409), and the
    unique (user, key) lets only one new claim in.
    """
    deleted = session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
    return bool(deleted.rowcount)  # type: ignore[attr-defined]


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
    with the same key and body gets it again, without doing the work twice. ``atomic`` stores the
    response in the very transaction of the change (the view's commits only flush), so a change
    and its stored response are written together or not at all. Views that hand work to another
    session (a job) need their commit to be real: they run with ``atomic=False``, and a key is
    claimed before and answered after the view.
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
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < cutoff,
            IdempotencyKey.user_id == user_id,
        )
    )
    if atomic:
        return _atomic(user_id, key, fingerprint, respond)
    return _claimed(user_id, key, fingerprint, respond)


def _atomic(user_id: int, key: str, fingerprint: str, respond: Callable[[], Response]) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    engine = app.extensions["matchmaker.engine"]
    session = get_session()
    session.commit()  # the expired-key clean-up; nothing else was written yet
    connection = engine.connect()
    outer = connection.begin()
    # The view's session joins a transaction it does not own: its commits flush, and the
    # transaction commits once, below, together with the stored response.
    previous_mode = session.join_transaction_mode
    session.bind = connection
    session.join_transaction_mode = "rollback_only"
    try:
        response = respond()
        if 200 <= response.status_code < 300:
            session.add(
                IdempotencyKey(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    status=response.status_code,
                    body=response.get_data(as_text=True),
                )
            )
            session.flush()
        outer.commit()
        return response
    except IntegrityError as exc:
        if outer.is_active:
            outer.rollback()
        if "idempotency" in str(exc.orig).lower():
            raise _in_progress() from None
        raise
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    finally:
        session.close()
        session.bind = engine
        session.join_transaction_mode = previous_mode
        connection.close()


def _claimed(user_id: int, key: str, fingerprint: str, respond: Callable[[], Response]) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    session = get_session()
    claim = IdempotencyKey(
        user_id=user_id, key=key, fingerprint=fingerprint, status=None, lease_at=utcnow()
    )
    session.add(claim)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _in_progress() from None
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


# --- wiring ----------------------------------------------------------------------------------


def _trust_proxies(app: Flask, settings: Settings) -> None:
    """Behind ``trusted_proxies`` reverse proxies, take the client's address and scheme from
    their ``X-Forwarded-For`` and ``X-Forwarded-Proto`` (only from that many hops: a client
    cannot forge its address past them)."""
    count = settings.trusted_proxies
    if count < 0:
        raise ValueError("MATCHMAKER_TRUSTED_PROXIES: must be 0 or more")
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    """Security headers, cookie flags, rate limits and database-outage answers for ``app``."""
    settings: Settings = app.extensions["matchmaker.settings"]
    _trust_proxies(app, settings)
    _cookie_config(app, settings)
    app.after_request(_security_headers(settings, PAGE_CSP))
    init_limiter(app, settings)
    _database_errors(app)
