"""Protections every response and request shares: security headers, cookie flags, rate limits
and answers to database outages (idempotent retries are in :mod:`matchmaker.api.idempotency`).

``init_app`` wires all of it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from flask_limiter import Limit, Limiter
from limits import parse_many
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from matchmaker.api.problems import Problem, problem_response, wants_problem_json
from matchmaker.config import Settings

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


def _not_api() -> bool:
    return not _is_api()


def _unknown_token(response: Response) -> bool:
    return response.status_code == 401


def _not_on(endpoint: str) -> Callable[[], bool]:
    return lambda: request.endpoint != endpoint


def _limits(settings: Settings) -> list[Limit]:
    """The rate limits, one row each: (limit, counted per, scope, what is counted, methods,
    exempt when, counted only when); all shared by every route they apply to."""
    writes = ["POST", "PUT", "PATCH", "DELETE"]
    rows: list[tuple[str, Callable[[], str], str, str, list[str] | None, Any, Any]] = [
        (settings.rate_limit_api, caller_key, "api", "API requests", None, _not_api, None),
        (settings.rate_limit_writes, caller_key, "api-writes", "changes", writes, _not_api, None),
        (
            settings.rate_limit_auth_failures,
            client_address,
            "api-auth-failures",
            "requests with an unknown token",
            None,
            _not_an_unknown_token,
            _unknown_token,
        ),
        (
            settings.rate_limit_auth_failures,
            token_prefix_key,
            "api-auth-failures-prefix",
            "requests with an unknown token",
            None,
            _not_an_unknown_token,
            _unknown_token,
        ),
        (
            settings.rate_limit_signin,
            client_address,
            "signin",
            "sign-in attempts",
            ["POST"],
            _not_on("auth.login"),
            None,
        ),
        (
            settings.rate_limit_password_reset,
            client_address,
            "password-reset",
            "requests for a password reset link",
            ["POST"],
            _not_on("account.reset_request"),
            None,
        ),
    ]
    return [
        Limit(
            limit,
            key_function=key,
            scope=scope,
            shared=True,
            methods=methods,
            exempt_when=exempt,
            deduct_when=deduct,
            error_message=f"Too many {what}; wait for the time in Retry-After and try again.",
        )
        for limit, key, scope, what, methods, exempt, deduct in rows
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
        "rate_limit_password_reset",
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
