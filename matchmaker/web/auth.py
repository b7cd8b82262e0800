"""Sign-in and sign-out with a session, the language switch, and the start page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from matchmaker.accounts.service import check_password
from matchmaker.api.problems import Problem
from matchmaker.db import get_session
from matchmaker.web.helpers import home_for, me, page_errors, safe_next
from matchmaker.web.i18n import COOKIE, LANGUAGES

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
    """The sign-in form; failed attempts count towards the lockout in the accounts service."""
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or home_for(me()))
    errors: dict[str, str] = {}
    email = ""
    status = 200
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
                user = check_password(db, email, password)
            except Problem as exc:
                user = None
                errors["__all__"] = gettext(
                    "Too many failed sign-ins. Please try again in 15 minutes."
                )
                status = exc.status
            db.commit()  # the failure count (or its reset) is kept either way
            if user is not None:
                lang = session.get("_lang")
                session.clear()  # a fresh session on sign-in: no fixation
                if lang:
                    session["_lang"] = lang
                login_user(user)
                return redirect(next_url or home_for(user))
            if not errors:
                errors["__all__"] = gettext("E-mail or password is wrong.")
                status = 401
    return render_template(
        "auth/login.html", errors=errors, email=email, next=next_url or ""
    ), status


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("auth.index"))


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    """Switch the language and return to the page the user was on."""
    target = safe_next(request.args.get("next"), url_for("auth.index"))
    response = make_response(redirect(target))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
