"""The admins' pages: the list of users, creating a user, changing a role, (de)activating.

Every change goes through the accounts service the API uses, with the same checks and the same
audit events; deactivation ends the user's sessions and revokes their API tokens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext, lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker.accounts import service
from matchmaker.accounts.models import ApiToken, Role, User
from matchmaker.accounts.schemas import PASSWORD_MIN_LENGTH, UserIn
from matchmaker.audit.service import record
from matchmaker.crud import text_filter
from matchmaker.db import get_session, utcnow
from matchmaker.errors import DomainError, NotFound
from matchmaker.groups.models import ResearchGroup
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.web.helpers import (
    blank_to_none,
    form_errors,
    me,
    page_errors,
    roles_required,
    safe_next,
    validate_form,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
page_errors(bp)

ROLE_LABELS = {
    Role.COMPANY: lazy_gettext("Company"),
    Role.GROUP: lazy_gettext("Research group"),
    Role.OFFICE: lazy_gettext("Innovation office"),
    Role.ADMIN: lazy_gettext("Administrator"),
}
LANGUAGE_LABELS = {"de": "Deutsch", "en": "English"}
CREATE_FIELDS = ("email", "name", "role", "language", "organisation", "group_id", "password")
MEMBERSHIP_FIELDS = ("role", "organisation", "group_id")


def _when(value: dt.datetime | None) -> str:
    return format_datetime(value, "medium") if value is not None else "–"


def _choices(db: Session) -> dict[str, list[tuple[str, str]]]:
    """The options of the role, language, organisation and group selects."""
    orgs = db.scalars(
        select(Organisation).where(Organisation.archived_at.is_(None)).order_by(Organisation.name)
    )
    kinds = {
        OrganisationKind.COMPANY: gettext("company"),
        OrganisationKind.INSTITUTION: gettext("institution"),
    }
    groups = db.scalars(
        select(ResearchGroup)
        .where(ResearchGroup.archived_at.is_(None))
        .order_by(ResearchGroup.name, ResearchGroup.id)
    )
    none = [("", gettext("– none –"))]
    return {
        "roles": [(r.value, str(label)) for r, label in ROLE_LABELS.items()],
        "languages": list(LANGUAGE_LABELS.items()),
        "organisations": none + [(o.name, f"{o.name} ({kinds[o.kind]})") for o in orgs],
        "groups": none + [(str(g.id), f"{g.name} ({g.institution.name})") for g in groups],
    }


def _row(user: User, groups: dict[int, str], tokens: dict[int, int]) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "role_label": str(ROLE_LABELS[user.role]),
        "organisation": user.organisation.name if user.organisation else "",
        "group": groups.get(user.group_id or 0, ""),
        "group_id": user.group_id,
        "language": LANGUAGE_LABELS.get(user.language or "", "–"),
        "active": user.active,
        "last_sign_in": _when(user.last_sign_in_at),
        "created": _when(user.created_at),
        "live_tokens": tokens.get(user.id, 0),
        "is_me": user.id == me().id,
    }


def _groups(db: Session) -> dict[int, str]:
    return {g.id: g.name for g in db.scalars(select(ResearchGroup))}


def _live_tokens(db: Session) -> dict[int, int]:
    now = utcnow()
    rows = db.execute(
        select(ApiToken.user_id, func.count())
        .where(
            ApiToken.revoked_at.is_(None),
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
        )
        .group_by(ApiToken.user_id)
    )
    return {int(uid): int(n) for uid, n in rows}


def _list_page(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Any:
    db = get_session()
    q = request.args.get("q", "").strip()[:200]
    stmt = select(User).order_by(User.email)
    if q:
        stmt = stmt.where(text_filter(q, User.email, User.name))
    groups, tokens = _groups(db), _live_tokens(db)
    rows = [_row(u, groups, tokens) for u in db.scalars(stmt)]
    return render_template(
        "admin/users.html",
        users=rows,
        q=q,
        values=values or {"role": Role.COMPANY.value, "language": "de"},
        errors=errors or {},
        choices=_choices(db),
        password_min=PASSWORD_MIN_LENGTH,
    ), (422 if errors else 200)


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id}")
    return user


def _user_page(user: User, values: dict[str, Any] | None = None, errors: Any = None) -> Any:
    db = get_session()
    row = _row(user, _groups(db), _live_tokens(db))
    if values is None:
        values = {
            "role": row["role"],
            "organisation": row["organisation"],
            "group_id": str(user.group_id or ""),
        }
    return render_template(
        "admin/user.html", user=row, values=values, errors=errors or {}, choices=_choices(db)
    ), (422 if errors else 200)


@bp.get("/users")
@roles_required(Role.ADMIN)
def users() -> Any:
    """Every user: e-mail, role, organisation or group, active, last sign-in; a new user."""
    return _list_page()


@bp.post("/users")
@roles_required(Role.ADMIN)
def create_user() -> Any:
    """Create a user with the API's checks (the organisation a role needs, a free address)."""
    values = {name: request.form.get(name, "").strip() for name in CREATE_FIELDS}
    values["password"] = request.form.get("password", "")
    data, errors = validate_form(
        UserIn, blank_to_none(values, "name", "language", "organisation", "group_id", "password")
    )
    if data is None:
        return _list_page(values, errors)
    db = get_session()
    try:
        user = service.register_user(db, me(), data)
    except DomainError as exc:
        db.rollback()
        return _list_page(values, form_errors(exc))
    text = gettext("The user %(email)s is created.", email=user.email)
    if not data.password:
        text += " " + gettext(
            "They set their password with “Forgot your password?” on the sign-in page."
        )
    flash(text, "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.get("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int) -> Any:
    """One user: their details, their role and organisation to change, (de)activation."""
    return _user_page(_user(get_session(), user_id))


@bp.post("/users/<int:user_id>/role")
@roles_required(Role.ADMIN)
def change_role(user_id: int) -> Any:
    """Give the user another role, organisation or research group."""
    db = get_session()
    target = _user(db, user_id)
    values = {name: request.form.get(name, "").strip() for name in MEMBERSHIP_FIELDS}
    errors: dict[str, str] = {}
    try:
        role = Role(values["role"])
    except ValueError:
        errors["role"] = gettext("Choose one of the options.")
    group_id = int(values["group_id"]) if values["group_id"].isdigit() else None
    if values["group_id"] and group_id is None:
        errors["group_id"] = gettext("Choose one of the options.")
    if errors:
        return _user_page(target, values, errors)
    try:
        service.guard_own_account(me(), target, "role")
        changes = service.change_role(db, target, role, values["organisation"] or None, group_id)
    except DomainError as exc:
        db.rollback()
        return _user_page(_user(db, user_id), values, form_errors(exc))
    if changes:
        record(db, me().id, "user", target.id, "update", changes)
    flash(
        gettext(
            "%(email)s is now: %(role)s.", email=target.email, role=str(ROLE_LABELS[target.role])
        ),
        "success",
    )
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/active")
@roles_required(Role.ADMIN)
def set_active(user_id: int) -> Any:
    """Deactivate (ends the user's sessions, revokes their tokens) or reactivate a user."""
    db = get_session()
    target = _user(db, user_id)
    back = safe_next(request.form.get("next"), url_for("admin.user", user_id=user_id))
    choice = request.form.get("active", "")
    if choice not in ("0", "1"):
        return _user_page(target, None, {"active": gettext("Choose one of the options.")})
    active = choice == "1"
    if not active:
        try:
            service.guard_own_account(me(), target, "active")
        except DomainError as exc:
            return _user_page(target, None, form_errors(exc))
    if active != target.active:
        service.set_active(db, target, active)
        record(db, me().id, "user", target.id, "update", {"active": active})
    if active:
        text = gettext("%(email)s is active again and can sign in.", email=target.email)
    else:
        text = gettext(
            "%(email)s is deactivated: their sessions have ended and their API tokens are revoked.",
            email=target.email,
        )
    flash(text, "success")
    return redirect(back)
