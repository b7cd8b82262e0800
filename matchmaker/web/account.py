"""The user's own account: their API tokens, to issue, see and revoke; their password, to
change when signed in or to reset through a link sent by e-mail."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, gettext, lazy_gettext, ngettext
from flask_login import current_user, logout_user

from matchmaker import mail
from matchmaker.accounts import reset as resets
from matchmaker.accounts import service
from matchmaker.accounts.models import ApiToken
from matchmaker.accounts.schemas import (
    PASSWORD_MIN_LENGTH,
    PasswordChangeIn,
    PasswordResetIn,
    PasswordResetRequestIn,
)
from matchmaker.audit.service import record
from matchmaker.db import after_commit, get_session, keep_writes, utcnow
from matchmaker.web.auth import start_session
from matchmaker.web.helpers import me, page_errors, roles_required, validate_form

bp = Blueprint("account", __name__, url_prefix="/account")
page_errors(bp)

#: The validity periods the page offers for a new token (days; 0: never expires).
TOKEN_PERIODS = (30, service.TOKEN_DAYS_DEFAULT, 365, 0)
STATE_LABELS = {
    "active": lazy_gettext("Active"),
    "expired": lazy_gettext("Expired"),
    "revoked": lazy_gettext("Revoked"),
}


def _when(value: dt.datetime | None) -> str:
    return format_datetime(value, "medium") if value is not None else "–"


def _row(token: ApiToken, now: dt.datetime) -> dict[str, Any]:
    state = service.token_state(token, now)
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created": _when(token.created_at),
        "last_used": _when(token.last_used_at),
        "expires": _when(token.expires_at) if token.expires_at else gettext("never"),
        "state": state,
        "state_label": str(STATE_LABELS[state]),
    }


def _periods() -> list[tuple[str, str]]:
    out = []
    for days in TOKEN_PERIODS:
        label = (
            gettext("never expires") if days == 0 else ngettext("%(num)d day", "%(num)d days", days)
        )
        out.append((str(days), label))
    return out


def _page(new_token: str | None = None, errors: dict[str, str] | None = None) -> Any:
    session = get_session()
    now = utcnow()
    rows = [_row(t, now) for t in service.tokens_of(session, me().id)]
    return render_template(
        "account/tokens.html",
        tokens=rows,
        new_token=new_token,
        periods=_periods(),
        default_period=str(service.TOKEN_DAYS_DEFAULT),
        errors=errors or {},
        values=dict(request.form) if request.method == "POST" else {},
    ), (422 if errors else 200)


@bp.get("/tokens")
@roles_required()
def tokens() -> Any:
    """The user's API tokens: name, start, when created, last used and expiring; revoke each."""
    return _page()


@bp.post("/tokens")
@roles_required()
def new_token() -> Any:
    """Issue a token; it is shown on this answer only (never stored in the session)."""
    name = request.form.get("name", "").strip()
    errors: dict[str, str] = {}
    if len(name) > 100:
        errors["name"] = gettext("This text is too long.")
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        errors["name"] = gettext("Use a single line.")
    period = request.form.get("expires_in_days", str(service.TOKEN_DAYS_DEFAULT))
    if period not in {str(days) for days in TOKEN_PERIODS}:
        errors["expires_in_days"] = gettext("Choose one of the options.")
    if errors:
        return _page(errors=errors)
    session = get_session()
    user = session.merge(me())
    row, token = service.create_token(session, user, name, int(period) or None)
    record(session, user.id, "api_token", row.id, "create", {"prefix": row.prefix})
    return _page(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required()
def revoke(token_id: int) -> Any:
    """Revoke one of the user's tokens; it stops working at once."""
    session = get_session()
    row = service.revoke_token(session, session.merge(me()), token_id)
    flash(gettext("The token %(prefix)s… is revoked.", prefix=row.prefix), "success")
    return redirect(url_for("account.tokens"))


# --- password --------------------------------------------------------------------------------


def _new_password_errors(schema: type[Any], values: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """The form checked with the accounts' password rules; the new password typed twice."""
    data, errors = validate_form(schema, values)
    if (
        "new_password" not in errors
        and "new_password_again" not in errors
        and values["new_password"] != values["new_password_again"]
    ):
        errors["new_password_again"] = gettext("The two new passwords are not the same.")
    return (data if not errors else None), errors


@bp.route("/password", methods=["GET", "POST"])
@roles_required()
def password() -> Any:
    """Change one's password: the current one, the new one twice.

    A new password ends every other session and revokes the API tokens (as everywhere); this
    browser gets a fresh session and stays signed in. A wrong current password counts towards
    the sign-in lockout, like a failed sign-in.
    """
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        names = ("current_password", "new_password", "new_password_again")
        values = {name: request.form.get(name, "") for name in names}
        data, errors = _new_password_errors(PasswordChangeIn, values)
        db = get_session()
        user = db.merge(me())
        if "current_password" not in errors:
            try:
                if (
                    service.check_password(
                        db, user.email, values["current_password"], request.remote_addr or ""
                    )
                    is None
                ):
                    errors["current_password"] = gettext("This is not your current password.")
            except service.SignInLocked as exc:
                errors["current_password"] = ngettext(
                    "Too many wrong passwords. Please try again in %(num)d minute.",
                    "Too many wrong passwords. Please try again in %(num)d minutes.",
                    -(-exc.retry_after // 60),
                )
                status = 429
        if not errors and data is not None:
            service.change_password(db, user, data.new_password)
            record(db, user.id, "user", user.id, "update", {"password": "changed"})
            start_session(user)
            flash(
                gettext(
                    "Your password is changed. You stay signed in here; your other sessions "
                    "have ended and your API tokens are revoked."
                ),
                "success",
            )
            return redirect(url_for("account.password"))
        keep_writes()  # a wrong current password is counted
        status = status if status != 200 else 422
    return render_template(
        "account/password.html", errors=errors, password_min=PASSWORD_MIN_LENGTH
    ), status


def _send_reset(settings: Any, message: Any) -> None:
    try:
        mail.send(settings, message)
    except OSError:
        current_app.logger.exception("password reset e-mail failed")


@bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> Any:
    """Ask for a link to set a new password: the same answer whether the address has an
    account or not."""
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip() if request.method == "POST" else ""
    if request.method == "POST":
        data, errors = validate_form(PasswordResetRequestIn, {"email": email})
        if data is not None:
            settings = current_app.extensions["matchmaker.settings"]
            db = get_session()
            message = resets.request_reset(
                db,
                str(data.email),
                lambda token: settings.public_url + url_for("account.reset", token=token),
            )
            if message is not None:
                after_commit(functools.partial(_send_reset, settings, message))
            return render_template("account/reset_request.html", sent=True, email=email, errors={})
    return render_template("account/reset_request.html", sent=False, email=email, errors=errors), (
        422 if errors else 200
    )


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    """Set a new password through a link from the e-mail; a used, expired or unknown link
    says so."""
    db = get_session()
    state, row = resets.find_reset(db, token)
    errors: dict[str, str] = {}
    if state == resets.ResetState.VALID and row is not None and request.method == "POST":
        values = {
            name: request.form.get(name, "") for name in ("new_password", "new_password_again")
        }
        data, errors = _new_password_errors(PasswordResetIn, values)
        if data is not None:
            user = resets.complete_reset(db, row, data.new_password)
            if user is not None:
                if current_user.is_authenticated and current_user.id == user.id:
                    logout_user()
                flash(gettext("Your new password is set. Please sign in with it."), "success")
                return redirect(url_for("auth.login"))
            state = resets.ResetState.USED
    status = {resets.ResetState.INVALID: 404, resets.ResetState.VALID: 422 if errors else 200}
    response = make_response(
        render_template(
            "account/reset.html",
            state=state.value,
            errors=errors,
            token=token,
            password_min=PASSWORD_MIN_LENGTH,
        ),
        status.get(state, 410),
    )
    # The address holds the secret: no other site learns it through the Referer header.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
