"""The signed-in user's own account: their API tokens, to issue, see and revoke."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext, lazy_gettext, ngettext

from matchmaker.accounts import service
from matchmaker.accounts.models import ApiToken
from matchmaker.audit.service import record
from matchmaker.db import get_session, utcnow
from matchmaker.web.helpers import me, page_errors, roles_required

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
    session.commit()
    return _page(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required()
def revoke(token_id: int) -> Any:
    """Revoke one of the user's tokens; it stops working at once."""
    session = get_session()
    row = service.revoke_token(session, session.merge(me()), token_id)
    session.commit()
    flash(gettext("The token %(prefix)s… is revoked.", prefix=row.prefix), "success")
    return redirect(url_for("account.tokens"))
