"""Who is calling: bearer tokens for the API, the session for pages."""

from __future__ import annotations

from flask import Flask, g, request

from matchmaker.accounts.models import OFFICE_ROLES, User
from matchmaker.accounts.service import user_for_token
from matchmaker.api.problems import Problem
from matchmaker.db import get_session


def _load_user() -> None:
    g.user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            g.auth_error = "Use 'Authorization: Bearer <token>'."
            return
        session = get_session()
        user = user_for_token(session, token.strip())
        if user is None:
            g.auth_error = "The token is unknown, expired or revoked."
            return
        if session.dirty:  # the token's last use, noted at most once a minute
            session.commit()
        g.user = user
        return
    # Pages sign in with a session; the API accepts it for reading only (writes need a token,
    # so a cross-site form can never write through the API).
    if request.path.startswith("/api/") and request.method not in {"GET", "HEAD", "OPTIONS"}:
        return
    try:
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            g.user = current_user._get_current_object()
    except Exception:  # Flask-Login not initialised (bare API app)
        pass


def require_user() -> User:
    """The signed-in user, or a 401 problem."""
    user: User | None = g.get("user")
    if user is None:
        detail = g.get("auth_error") or "Sign in: send 'Authorization: Bearer <token>'."
        raise Problem(
            401,
            "Unauthorized",
            detail,
            code="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="matchmaker"'},
        )
    return user


def is_office(user: User | None) -> bool:
    """Office and admin read everything and decide."""
    return user is not None and user.role in OFFICE_ROLES


def init_app(app: Flask) -> None:
    """Resolve the caller before every request."""
    app.before_request(_load_user)
