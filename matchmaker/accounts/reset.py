"""Setting a new password through a link sent by e-mail.

A link holds 256 random bits; only their SHA-256 is stored. It works once, for an hour, and a
new password set any other way makes it void too. Asking for a link gives no sign of whether the
address has an account: the caller shows the same answer, and the same work is done, whether a
link is sent or not.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from enum import StrEnum

from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matchmaker.accounts.models import PasswordReset, User
from matchmaker.accounts.service import (
    LANGUAGES,
    change_password,
    forget_sign_in_failures,
    hash_token,
)
from matchmaker.audit.service import record
from matchmaker.db import utcnow
from matchmaker.mail import Mail

#: How long a link works.
RESET_VALID = dt.timedelta(hours=1)
#: At most this many links per account and hour: asking again and again does not flood a
#: mailbox (the answer stays the same).
RESETS_PER_HOUR = 3
#: Longer than any token this module makes: such a "token" is not looked up at all.
TOKEN_MAX_LENGTH = 100


class ResetState(StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    INVALID = "invalid"


def _language(code: str | None) -> str:
    return code if code in LANGUAGES else LANGUAGES[0]


def reset_mail(user: User, link: str) -> Mail:
    """The e-mail with the link, in the language of the account (German if none chosen)."""
    with force_locale(_language(user.language)):
        subject = gettext("Set a new password for Matchmaker")
        body = "\n\n".join(
            [
                gettext("Hello,"),
                gettext(
                    "someone, hopefully you, asked to set a new password for the Matchmaker "
                    "account %(email)s.",
                    email=user.email,
                ),
                gettext(
                    "Open this link within one hour to choose a new password. It works only once:"
                ),
                link,
                gettext(
                    "If you did not ask for this, you can ignore this e-mail: your password "
                    "stays as it is."
                ),
                gettext("Matchmaker — Innovation office"),
            ]
        )
    return Mail((user.email,), subject, body, party="user")


def request_reset(session: Session, email: str, link_for: Callable[[str], str]) -> Mail | None:
    """A new link for the active account of ``email``, stored, and its e-mail to send; None when
    there is no such account, or when it was sent :data:`RESETS_PER_HOUR` links this hour.

    ``link_for`` turns a token into the address of the page that takes it. The token, its hash
    and the count of recent links are made and read for an unknown address too.
    """
    token = secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    now = utcnow()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == (user.id if user is not None else -1),
            PasswordReset.created_at > now - dt.timedelta(hours=1),
        )
    )
    if user is None or not user.active or (recent or 0) >= RESETS_PER_HOUR:
        return None
    session.add(PasswordReset(user_id=user.id, token_hash=token_hash, expires_at=now + RESET_VALID))
    session.flush()
    return reset_mail(user, link_for(token))


def find_reset(session: Session, token: str) -> tuple[ResetState, PasswordReset | None]:
    """What a link is: valid, already used (or made void), expired, or not a link at all
    (also the link of a deactivated account)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return ResetState.INVALID, None
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if row is None or not row.user.active:
        return ResetState.INVALID, None
    if row.used_at is not None:
        return ResetState.USED, row
    if row.expires_at <= utcnow():
        return ResetState.EXPIRED, row
    return ResetState.VALID, row


def complete_reset(session: Session, row: PasswordReset, password: str) -> User | None:
    """Set the new password through a valid link, as a password change does (every session
    ends, every API token is revoked); the link is used up. None if the link was used or
    expired meanwhile (two tabs sending the form at once: only one wins).

    The account's failed sign-ins are forgotten, so a locked-out owner signs in at once.
    """
    now = utcnow()
    claimed = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == row.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        return None
    session.refresh(row)
    user = row.user
    change_password(session, user, password)
    forget_sign_in_failures(session, user.email)
    record(session, user.id, "user", user.id, "update", {"password": "reset by e-mail link"})
    return user
