"""The HTML pages: sign-in, the company, group and office journeys, and the dashboard.

``init_app`` wires Flask-Login (session sign-in), CSRF protection for every page form,
Flask-Babel (German by default, English on request) and the page blueprints.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect

from matchmaker.accounts.models import User
from matchmaker.db import get_session
from matchmaker.web import i18n

csrf = CSRFProtect()


def _load_user(session_id: str) -> User | None:
    """The user of a session: ``<id>.<session version>``, as :meth:`User.get_id` wrote it.

    A session of an older version (the user signed out, changed the password or was
    deactivated since) is refused, so a copied cookie stops working then too.
    """
    user_id, _, version = session_id.partition(".")
    try:
        user = get_session().get(User, int(user_id))
        current = user is not None and int(version) == user.session_version
    except ValueError:
        return None
    return user if user is not None and current and user.active else None


def _protect_pages() -> None:
    # The JSON API takes writes only with a bearer token (see api/auth.py), so a cross-site form
    # cannot write through it; every page form carries a CSRF token.
    if request.method in {"GET", "HEAD", "OPTIONS", "TRACE"} or request.path.startswith("/api/"):
        return
    csrf.protect()


def init_app(app: Flask) -> None:
    """Set up sign-in, CSRF, languages and the page blueprints."""
    login = LoginManager()
    login.login_view = "auth.login"
    login.login_message = None
    login.session_protection = "basic"
    login.user_loader(_load_user)
    login.init_app(app)

    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    csrf.init_app(app)
    app.before_request(_protect_pages)

    i18n.init_app(app)

    @app.errorhandler(CSRFError)
    def _csrf_failed(exc: CSRFError) -> Any:
        return render_template("error.html", status=400, csrf=True), 400

    from matchmaker.web import helpers, party_forms

    helpers.init_app(app)
    party_forms.init_app(app)

    from matchmaker.web.account import bp as account_bp
    from matchmaker.web.admin import bp as admin_bp
    from matchmaker.web.auth import bp as auth_bp
    from matchmaker.web.challenge_state import bp as challenge_state_bp
    from matchmaker.web.company import bp as company_bp
    from matchmaker.web.dashboard import bp as dashboard_bp
    from matchmaker.web.group import bp as group_bp
    from matchmaker.web.office import bp as office_bp
    from matchmaker.web.office_groups import bp as office_groups_bp
    from matchmaker.web.party import bp as party_bp
    from matchmaker.web.publications import bp as publication_bp

    for bp in (
        auth_bp,
        company_bp,
        group_bp,
        office_bp,
        office_groups_bp,
        dashboard_bp,
        account_bp,
        admin_bp,
        party_bp,
    ):
        app.register_blueprint(bp)
    app.register_blueprint(publication_bp)
    app.register_blueprint(challenge_state_bp)
