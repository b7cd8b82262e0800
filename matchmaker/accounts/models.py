"""Users, roles and API tokens."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.db import Base, created_at, intpk, value_enum
from matchmaker.organisations.models import Organisation


class Role(enum.StrEnum):
    COMPANY = "company"
    GROUP = "group"
    OFFICE = "office"
    ADMIN = "admin"


#: The role groups, defined once: the office (admins are office users too) ...
OFFICE_ROLES: tuple[Role, ...] = (Role.OFFICE, Role.ADMIN)
#: ... a company or the office, a research group or the office, and admins alone.
COMPANY_ROLES: tuple[Role, ...] = (Role.COMPANY, *OFFICE_ROLES)
GROUP_ROLES: tuple[Role, ...] = (Role.GROUP, *OFFICE_ROLES)
ADMIN_ROLES: tuple[Role, ...] = (Role.ADMIN,)


class User(Base):
    """A person who signs in: a company's manager, a lab head, the office, or an admin."""

    __tablename__ = "users"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(value_enum(Role))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("research_groups.id"))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    #: ``de`` or ``en``: the language of the user's pages and e-mails, once chosen (``None``:
    #: not chosen yet, German).
    language: Mapped[str | None] = mapped_column(String(5))
    #: Stored in the session at sign-in; bumping it (sign-out, password change, deactivation)
    #: ends every session of the user, on every device.
    session_version: Mapped[int] = mapped_column(default=0)
    #: The last sign-in through the pages (None: never, or before this was stored).
    last_sign_in_at: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]

    organisation: Mapped[Organisation | None] = relationship()

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Flask-Login keeps this in the session: a session of an older version is refused.
        return f"{self.id}.{self.session_version}"


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[created_at]
    last_used_at: Mapped[dt.datetime | None]
    #: None: the token never expires (tokens issued before expiry existed).
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class SignInFailure(Base):
    """Failed sign-ins of one e-mail address from one client address, for the lockout.

    Keyed by hashes, so the table holds neither the address nor the e-mail in clear; an unknown
    e-mail address is counted exactly like a real account's, so the answer never tells them apart.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        UniqueConstraint("account_key", "client_key", name="uq_sign_in_failures_account_client"),
    )

    id: Mapped[intpk]
    #: SHA-256 of the normalised e-mail address.
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    #: SHA-256 of the client's address.
    client_key: Mapped[str] = mapped_column(String(64))
    #: Failures since the last lockout (or success).
    failures: Mapped[int] = mapped_column(default=0)
    #: Lockouts so far: each one lasts twice as long as the one before.
    lockouts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime] = mapped_column(index=True)


class PasswordReset(Base):
    """A link to set a new password, sent by e-mail: only its SHA-256 is stored; it works once
    and expires."""

    __tablename__ = "password_resets"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    #: When the link was used, or made void by another new password.
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()
