"""JSON API of users (admin) and the caller's own account and tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from sqlalchemy import select

from matchmaker.accounts import service
from matchmaker.accounts.models import ADMIN_ROLES, ApiToken, Role, User
from matchmaker.accounts.schemas import (
    MePatch,
    TokenIn,
    TokenInfo,
    TokenList,
    TokenOut,
    UserCreated,
    UserIn,
    UserOut,
    UserPatch,
    UserQuery,
)
from matchmaker.api.spec import endpoint
from matchmaker.audit.service import record
from matchmaker.crud import apply_patch, paginate, text_filter
from matchmaker.db import get_session
from matchmaker.errors import NotFound
from matchmaker.schemas import Page

bp = Blueprint("accounts", __name__, url_prefix="/api/v1")


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "organisation_id": user.organisation_id,
        "organisation": user.organisation.name if user.organisation else None,
        "group_id": user.group_id,
        "active": user.active,
        # Not chosen yet: German, as the e-mails are.
        "language": user.language if user.language in service.LANGUAGES else service.LANGUAGES[0],
        "created_at": user.created_at.isoformat(),
    }


@endpoint(bp, "/me", response=UserOut)
def me() -> dict[str, Any]:
    """Your own account."""
    return user_out(g.user)


@endpoint(bp, "/me", "PATCH", body=MePatch, response=UserOut)
def update_me(body: MePatch) -> dict[str, Any]:
    """Change your own name or the language of your pages and e-mails (de, en)."""
    session = get_session()
    user = session.merge(g.user)
    changes = apply_patch(user, body, blank=frozenset({"name"}))
    if changes:
        record(session, user.id, "user", user.id, "update", changes)
    return user_out(user)


def token_out(row: ApiToken) -> dict[str, Any]:
    """A token as its owner sees it: never the token itself nor its hash."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "last_used_at": iso(row.last_used_at),
        "expires_at": iso(row.expires_at),
        "revoked_at": iso(row.revoked_at),
        "state": service.token_state(row),
    }


@endpoint(bp, "/tokens", "POST", body=TokenIn, response=TokenOut, status=201)
def new_token(body: TokenIn) -> dict[str, Any]:
    """Issue yourself a new API token (it expires after expires_in_days, default 90)."""
    session = get_session()
    user = session.merge(g.user)
    row, token = service.create_token(session, user, body.name or "", body.expires_in_days)
    record(session, user.id, "api_token", row.id, "create", {"prefix": row.prefix})
    return {**token_out(row), "token": token}


@endpoint(bp, "/tokens", response=TokenList)
def list_tokens() -> dict[str, Any]:
    """Your API tokens (never the tokens themselves)."""
    return {"items": [token_out(t) for t in service.tokens_of(get_session(), g.user.id)]}


@endpoint(bp, "/tokens/<int:token_id>", "DELETE", response=TokenInfo)
def revoke_token(token_id: int) -> dict[str, Any]:
    """Revoke one of your API tokens (admins: anyone's); it stops working at once."""
    session = get_session()
    row = service.revoke_token(session, session.merge(g.user), token_id)
    return token_out(row)


@endpoint(bp, "/users/<int:user_id>/tokens", roles=ADMIN_ROLES, response=TokenList)
def list_user_tokens(user_id: int) -> dict[str, Any]:
    """A user's API tokens (never the tokens themselves)."""
    session = get_session()
    if session.get(User, user_id) is None:
        raise NotFound(f"User {user_id}")
    return {"items": [token_out(t) for t in service.tokens_of(session, user_id)]}


@endpoint(bp, "/users", roles=ADMIN_ROLES, query=UserQuery, response=Page[UserOut])
def list_users(query: UserQuery) -> dict[str, Any]:
    """List users."""
    stmt = select(User)
    if query.role is not None:
        stmt = stmt.where(User.role == query.role)
    if query.q:
        stmt = stmt.where(text_filter(query.q, User.email, User.name))
    rows, total = paginate(get_session(), stmt.order_by(User.id), query)
    return {
        "items": [user_out(u) for u in rows],
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
    }


@endpoint(bp, "/users", "POST", roles=ADMIN_ROLES, body=UserIn, response=UserCreated, status=201)
def create_user(body: UserIn) -> dict[str, Any]:
    """Create a user and their first API token."""
    session = get_session()
    user = service.register_user(session, g.user, body)
    token = service.issue_token(session, user, "created by admin")
    return {**user_out(user), "token": token}


@endpoint(bp, "/users/<int:user_id>", "PATCH", roles=ADMIN_ROLES, body=UserPatch, response=UserOut)
def update_user(user_id: int, body: UserPatch) -> dict[str, Any]:
    """Change or deactivate a user (a new password or deactivation ends the user's sessions and
    revokes their API tokens; admins cannot deactivate or re-role themselves)."""
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id}")
    changes: dict[str, Any] = {}
    if (
        body.role is not None
        or body.organisation is not None
        or "group_id" in body.model_fields_set
    ):
        service.guard_own_account(g.user, user, "role")
        role = body.role or user.role
        if "group_id" in body.model_fields_set:
            group_id = body.group_id
        else:
            group_id = user.group_id if role == Role.GROUP else None
        changes.update(service.change_role(session, user, role, body.organisation, group_id))
    if body.active is not None and body.active != user.active:
        if not body.active:
            service.guard_own_account(g.user, user, "active")
        service.set_active(session, user, body.active)
        changes["active"] = body.active
    if body.name is not None:
        user.name = body.name
        changes["name"] = body.name
    if body.password is not None:
        service.change_password(session, user, body.password)
        changes["password"] = "changed"
    if changes:
        record(session, g.user.id, "user", user.id, "update", changes)
    return user_out(user)
