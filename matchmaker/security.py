"""Protections every response and request shares: security headers, cookie flags, rate limits,
and idempotent retries of POST requests (``Idempotency-Key``).

``init_app`` wires all of it; :func:`idempotent` is called by the API's ``endpoint`` decorator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limit, Limiter
from limits import parse_many
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

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
    """The caller's address (behind a proxy, ProxyFix must set ``remote_addr``)."""
    return "addr:" + (request.remote_addr or "unknown")


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
            exempt_when=lambda: not _is_api() or "Authorization" not in request.headers,
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
    limiter.init_app(app)
    app.extensions["matchmaker.limiter"] = limiter
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
        return _replay(row, fingerprint)
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
    claim = IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint, status=None)
    session.add(claim)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _in_progress() from None
    claim_id = claim.id
    try:
        response = respond()
    except BaseException:
        with session_scope(app) as s:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))
        raise
    with session_scope(app) as s:
        stored = s.get(IdempotencyKey, claim_id)
        if stored is not None:
            if 200 <= response.status_code < 300:
                stored.status = response.status_code
                stored.body = response.get_data(as_text=True)
            else:
                s.delete(stored)
    return response


# --- wiring ----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Security headers, cookie flags, rate limits and database-outage answers for ``app``."""
    settings: Settings = app.extensions["matchmaker.settings"]
    _cookie_config(app, settings)
    app.after_request(_security_headers(settings, PAGE_CSP))
    init_limiter(app, settings)
    _database_errors(app)
