"""Accounts: creating users, issuing and checking API tokens and passwords."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from matchmaker.accounts.models import ApiToken, Role, User
from matchmaker.api.problems import Problem, field_error
from matchmaker.db import utcnow
from matchmaker.organisations.models import Organisation, OrganisationKind

TOKEN_PREFIX = "mm_"


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, name: str = "") -> str:
    """Create a new API token for ``user`` and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(token), prefix=token[:10], name=name))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    return row.user


def expected_org_kind(role: Role) -> OrganisationKind | None:
    """Which kind of organisation a role belongs to (None: no organisation)."""
    return {Role.COMPANY: OrganisationKind.COMPANY, Role.GROUP: OrganisationKind.INSTITUTION}.get(
        role
    )


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    organisation: str | None = None,
    password: str | None = None,
    name: str = "",
    group_id: int | None = None,
) -> User:
    """Create a user; company and group users need an organisation of the right kind."""
    email = email.strip().lower()
    if not email or "@" not in email:
        raise field_error("email", "must be an e-mail address")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Problem(
            409,
            "Conflict",
            f"email: a user with {email} exists already",
            code="conflict",
            errors=[{"field": "email", "message": "already registered"}],
        )
    org = None
    kind = expected_org_kind(role)
    if organisation:
        org = session.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            raise field_error("organisation", f"no organisation named {organisation!r}")
        if kind is not None and org.kind != kind:
            raise field_error("organisation", f"a {role.value} user belongs to a {kind.value}")
    elif kind is not None:
        raise field_error("organisation", f"a {role.value} user needs an organisation")
    user = User(
        email=email,
        role=role,
        organisation=org,
        name=name,
        group_id=group_id,
        password_hash=generate_password_hash(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


LOCKOUT_AFTER = 5
LOCKOUT_MINUTES = 15


def check_password(session: Session, email: str, password: str) -> User | None:
    """The user for these credentials, counting failures and locking after repeated ones."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    now = utcnow()
    if user is None or not user.active or user.password_hash is None:
        return None
    if user.locked_until is not None and user.locked_until > now:
        raise Problem(
            429,
            "Too many requests",
            "Too many failed sign-ins; try again later.",
            code="locked",
            headers={"Retry-After": str(int((user.locked_until - now).total_seconds()) + 1)},
        )
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= LOCKOUT_AFTER:
            user.locked_until = now + dt.timedelta(minutes=LOCKOUT_MINUTES)
            user.failed_logins = 0
        return None
    user.failed_logins = 0
    user.locked_until = None
    return user
