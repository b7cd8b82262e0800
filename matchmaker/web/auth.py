"""Sign-in and sign-out with a session, the language switch, and the start page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_login import current_user, login_user, logout_user

from matchmaker.accounts.models import User
from matchmaker.accounts.service import SignInLocked, check_password, end_sessions
from matchmaker.api.problems import status_of
from matchmaker.db import get_session, keep_writes, utcnow
from matchmaker.web.helpers import home_for, me, page_errors, safe_next
from matchmaker.web.i18n import COOKIE, LANGUAGES, current_language

bp = Blueprint("auth", __name__)
page_errors(bp)


@bp.get("/")
def index() -> Any:
    """Signed-in users go to their first page; others see what Matchmaker is."""
    if current_user.is_authenticated:
        return redirect(home_for(me()))
    return render_template("index.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; failed attempts count towards the lockout in the accounts service.

    A wrong password, an unknown e-mail address and a deactivated account get the same answer
    after the same work, and the lockout is counted per e-mail and client address for all.
    """
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or home_for(me()))
    errors: dict[str, str] = {}
    email = ""
    status = 200
    retry_after = 0
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not email:
            errors["email"] = gettext("Please fill in this field.")
        if not password:
            errors["password"] = gettext("Please fill in this field.")
        if not errors:
            db = get_session()
            try:
                user = check_password(db, email, password, request.remote_addr or "")
            except SignInLocked as exc:
                user = None
                minutes = -(-exc.retry_after // 60)
                errors["__all__"] = ngettext(
                    "Too many failed sign-ins. Please try again in %(num)d minute.",
                    "Too many failed sign-ins. Please try again in %(num)d minutes.",
                    minutes,
                )
                status = status_of(exc)
                retry_after = exc.retry_after
            keep_writes()  # the failure count (or its reset) is kept either way
            if user is not None:
                start_session(user)
                user.last_sign_in_at = utcnow()
                response = make_response(redirect(next_url or home_for(user)))
                _remember_language(user, response)
                return response
            if not errors:
                errors["__all__"] = gettext("E-mail or password is wrong.")
                status = 401
    response = make_response(
        render_template("auth/login.html", errors=errors, email=email, next=next_url or ""),
        status,
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def start_session(user: User) -> None:
    """Sign ``user`` in on a fresh session (no fixation), keeping the language of the pages;
    the session carries the user's current session version."""
    lang = session.get("_lang")
    session.clear()
    if lang:
        session["_lang"] = lang
    login_user(user)


@bp.post("/logout")
def logout() -> Any:
    """Sign out: ends every session of the user, so a copied cookie stops working too."""
    if current_user.is_authenticated:
        db = get_session()
        user = db.get(User, current_user.id)
        if user is not None:
            end_sessions(user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.index"))


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    """Switch the language and return to the page the user was on."""
    target = safe_next(request.args.get("next"), url_for("auth.index"))
    response = make_response(redirect(target))
    if code in LANGUAGES:
        _set_cookie(response, code)
        if current_user.is_authenticated:  # the account's choice, for its e-mails too
            me().language = code
    return response


def _set_cookie(response: Response, code: str) -> None:
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)


def _remember_language(user: User, response: Response) -> None:
    """On sign-in: a language chosen in this browser (the cookie) becomes the account's; else
    the account's own choice is applied; else the account keeps the language of these pages.
    The account's language is the language of its e-mails."""
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        user.language = chosen
    elif user.language in LANGUAGES:
        _set_cookie(response, user.language)
    else:
        user.language = current_language()
