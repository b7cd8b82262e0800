"""Accounts: creating users, issuing and checking API tokens and passwords."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from matchmaker.accounts.models import ApiToken, PasswordReset, Role, SignInFailure, User
from matchmaker.accounts.schemas import TOKEN_DAYS_DEFAULT, UserIn
from matchmaker.audit.service import record
from matchmaker.db import utcnow
from matchmaker.errors import Conflict, Invalid, NotFound, Throttled
from matchmaker.groups.models import ResearchGroup
from matchmaker.organisations.models import Organisation, OrganisationKind

TOKEN_PREFIX = "mm_"
#: ``last_used_at`` is written at most this often per token, to spare the database a write per
#: request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
#: The languages of an account's pages and e-mails.
LANGUAGES = ("de", "en")


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    user: User,
    name: str = "",
    expires_in_days: int | None = TOKEN_DAYS_DEFAULT,
) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the stored row (only the hash) and the token itself."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    row = ApiToken(
        user=user,
        token_hash=hash_token(token),
        prefix=token[:10],
        name=name,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def issue_token(
    session: Session, user: User, name: str = "", expires_in_days: int | None = TOKEN_DAYS_DEFAULT
) -> str:
    """Create a new API token for ``user`` and return it; only its hash is stored."""
    return create_token(session, user, name, expires_in_days)[1]


def token_is_live(row: ApiToken, now: dt.datetime | None = None) -> bool:
    """Neither revoked nor expired."""
    now = now or utcnow()
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def token_state(row: ApiToken, now: dt.datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if row.revoked_at is not None:
        return "revoked"
    return "active" if token_is_live(row, now) else "expired"


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a live bearer token belongs to, or None.

    Notes the token's use in ``last_used_at`` (at most once a minute); the caller commits.
    """
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    now = utcnow()
    if row is None or not token_is_live(row, now) or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
    return row.user


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first (revoked and expired ones too: they say what happened)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, caller: User, token_id: int) -> ApiToken:
    """Revoke one token: the caller's own, or anyone's for an admin (others get a 404)."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != caller.id and caller.role != Role.ADMIN):
        raise NotFound(f"Token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(
            session,
            caller.id,
            "api_token",
            row.id,
            "revoke",
            {"user_id": row.user_id, "prefix": row.prefix},
        )
    return row


def revoke_all_tokens(session: Session, user: User) -> int:
    """Revoke every live token of ``user``; returns how many."""
    now = utcnow()
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions(user: User) -> None:
    """End every signed-in session of ``user`` (the session version in their cookies is old)."""
    user.session_version = (user.session_version or 0) + 1


def change_password(session: Session, user: User, password: str) -> None:
    """Set a new password: every session ends, every API token is revoked and every password
    reset link not yet used stops working."""
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    revoke_all_tokens(session, user)
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )


def set_active(session: Session, user: User, active: bool) -> None:
    """(De)activate a user; deactivation ends their sessions and revokes their tokens for good
    (reactivating brings none of them back)."""
    if not active and user.active:
        end_sessions(user)
        revoke_all_tokens(session, user)
    user.active = active


def guard_own_account(caller: User, user: User, field: str) -> None:
    """An admin may not deactivate their own account or change its role (so that the last
    admin cannot lock everyone out); ``field`` is the one the error names."""
    if caller.id == user.id:
        raise Conflict(
            "own_account",
            "not on your own account",
            field=field,
            detail=f"{field}: you cannot change this on your own account",
        )


def expected_org_kind(role: Role) -> OrganisationKind | None:
    """Which kind of organisation a role belongs to (None: no organisation)."""
    return {Role.COMPANY: OrganisationKind.COMPANY, Role.GROUP: OrganisationKind.INSTITUTION}.get(
        role
    )


def _membership(
    session: Session,
    role: Role,
    organisation: str | None,
    group_id: int | None,
    current: Organisation | None = None,
) -> tuple[Organisation | None, ResearchGroup | None]:
    """The organisation and research group of a user of ``role``, checked.

    Company and group users need an organisation of their kind: the one named, else the group's
    institution, else ``current`` (the user's organisation so far) if it is of the right kind.
    Only a group user belongs to a research group, and only to one of its own institution.
    """
    kind = expected_org_kind(role)
    group = None
    if group_id is not None:
        if role != Role.GROUP:
            raise Invalid(
                "group_id", "group_role_only", "only a group user belongs to a research group"
            )
        group = session.get(ResearchGroup, group_id)
        if group is None:
            raise Invalid("group_id", "no_such_group", f"no research group {group_id}")
    org = None
    if organisation:
        org = session.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            raise Invalid(
                "organisation", "no_such_organisation", f"no organisation named {organisation!r}"
            )
        if kind is not None and org.kind != kind:
            raise Invalid(
                "organisation",
                f"{role.value}_user_organisation_kind",
                f"a {role.value} user belongs to a {kind.value}",
            )
    elif group is not None:
        org = group.institution
    elif kind is not None and current is not None and current.kind == kind:
        org = current
    elif kind is not None:
        raise Invalid(
            "organisation", "organisation_required", f"a {role.value} user needs an organisation"
        )
    if group is not None and org is not None and group.institution_id != org.id:
        raise Invalid(
            "group_id",
            "group_of_other_institution",
            "the research group belongs to another institution",
        )
    return org, group


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    organisation: str | None = None,
    password: str | None = None,
    name: str = "",
    group_id: int | None = None,
    language: str | None = None,
) -> User:
    """Create a user; company and group users need an organisation of the right kind."""
    email = email.strip().lower()
    if not email or "@" not in email:
        raise Invalid("email", "email_invalid", "must be an e-mail address")
    if language is not None and language not in LANGUAGES:
        raise Invalid("language", "language_unknown", "must be de or en")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(
            "email_taken",
            "already registered",
            field="email",
            detail=f"email: a user with {email} exists already",
        )
    org, _group = _membership(session, role, organisation, group_id)
    user = User(
        email=email,
        role=role,
        organisation=org,
        name=name,
        group_id=group_id,
        language=language,
        password_hash=generate_password_hash(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def register_user(session: Session, caller: User, data: UserIn) -> User:
    """Create the user an admin asks for (through the API or the admin page), checked as
    :func:`create_user` checks, and note it in the audit log."""
    user = create_user(
        session,
        email=str(data.email),
        role=data.role,
        organisation=data.organisation,
        password=data.password,
        name=data.name or "",
        group_id=data.group_id,
        language=data.language,
    )
    record(
        session,
        caller.id,
        "user",
        user.id,
        "create",
        {"email": user.email, "role": user.role.value},
    )
    return user


def change_role(
    session: Session,
    user: User,
    role: Role,
    organisation: str | None = None,
    group_id: int | None = None,
) -> dict[str, object]:
    """Give ``user`` another role (or organisation, or group), checked as at creation; an
    office or admin user keeps no research group. Returns what changed, for the audit log.

    The sessions stay: every request reads the role afresh, so the change applies at once.
    """
    org, group = _membership(session, role, organisation, group_id, current=user.organisation)
    before = (user.role, user.organisation_id, user.group_id)
    user.role = role
    user.organisation = org
    user.group_id = group.id if group is not None else None
    session.flush()
    if before == (user.role, user.organisation_id, user.group_id):
        return {}
    return {
        "role": role.value,
        "organisation": org.name if org is not None else None,
        "group_id": user.group_id,
    }


LOCKOUT_AFTER = 5
#: The first lockout of an (e-mail, client) pair; each further one lasts twice as long.
LOCKOUT_MINUTES = 15
LOCKOUT_MAX_MINUTES = 240
#: Failures older than this are forgotten (and the lockout period starts again at 15 minutes).
FAILURES_KEPT = dt.timedelta(days=1)

_dummy_hash: str | None = None


class SignInLocked(Throttled):
    """Too many failed sign-ins of this e-mail address from this client."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "sign_in_locked", "Too many failed sign-ins; try again later.", retry_after
        )


def _dummy_password_hash() -> str:
    """A hash to check unknown e-mail addresses against: the same work as for a real account."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_urlsafe(16))
    return _dummy_hash


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _failure_row(session: Session, account_key: str, client_key: str) -> SignInFailure | None:
    return session.scalar(
        select(SignInFailure).where(
            SignInFailure.account_key == account_key, SignInFailure.client_key == client_key
        )
    )


def _count_failure(
    session: Session,
    row: SignInFailure | None,
    account_key: str,
    client_key: str,
    now: dt.datetime,
) -> SignInFailure:
    if row is None:
        session.execute(
            delete(SignInFailure).where(
                SignInFailure.last_failure_at < now - FAILURES_KEPT,
                or_(SignInFailure.locked_until.is_(None), SignInFailure.locked_until < now),
            )
        )
        try:
            with session.begin_nested():
                row = SignInFailure(
                    account_key=account_key,
                    client_key=client_key,
                    failures=0,
                    lockouts=0,
                    last_failure_at=now,
                )
                session.add(row)
        except IntegrityError:  # a concurrent failure of the same pair created it first
            row = _failure_row(session, account_key, client_key)
            assert row is not None
    elif row.last_failure_at < now - FAILURES_KEPT:
        row.failures = 0
        row.lockouts = 0
    row.failures += 1
    row.last_failure_at = now
    return row


def forget_sign_in_failures(session: Session, email: str) -> None:
    """Delete the failed sign-ins counted for ``email`` (from every client)."""
    session.execute(
        delete(SignInFailure).where(SignInFailure.account_key == _key(email.strip().lower()))
    )


def check_password(session: Session, email: str, password: str, client: str = "") -> User | None:
    """The user for these credentials, or None; repeated failures lock out this client.

    ``client`` is the caller's address: 5 failures of one e-mail address from one client lock
    that pair for 15 minutes, then 30, 60 ... up to 4 hours (:class:`SignInLocked`); the owner
    signs in from another client as usual. An unknown e-mail address costs the same password
    check and is counted and locked the same way, so neither the answer nor its time tells
    whether an account exists. A lockout of a real account goes to the audit log.
    """
    email = email.strip().lower()
    now = utcnow()
    account_key, client_key = _key(email), _key(client)
    failure = _failure_row(session, account_key, client_key)
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        raise SignInLocked(int((failure.locked_until - now).total_seconds()) + 1)
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.active else None
    matches = check_password_hash(stored or _dummy_password_hash(), password)
    if user is not None and stored is not None and matches:
        if failure is not None:
            session.delete(failure)
        return user
    failure = _count_failure(session, failure, account_key, client_key, now)
    if failure.failures >= LOCKOUT_AFTER:
        minutes = min(LOCKOUT_MAX_MINUTES, LOCKOUT_MINUTES * 2**failure.lockouts)
        failure.locked_until = now + dt.timedelta(minutes=minutes)
        failure.lockouts += 1
        failure.failures = 0
        if user is not None:
            record(
                session,
                None,
                "user",
                user.id,
                "lock",
                {
                    "reason": f"{LOCKOUT_AFTER} failed sign-ins",
                    "client": client,
                    "minutes": minutes,
                    "until": failure.locked_until.isoformat(),
                },
            )
    return None
