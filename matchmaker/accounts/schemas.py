"""Request and response schemas of users and tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from matchmaker.accounts.models import Role
from matchmaker.schemas import Line, PageQuery, StrictInput

#: Days a new API token is valid unless its owner asks for another period (or none).
TOKEN_DAYS_DEFAULT = 90
TOKEN_DAYS_MAX = 3650
#: The rule of every password: at least 10 characters, at most 200.
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200
Password = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
Language = Literal["de", "en"]
LANGUAGE_DESCRIPTION = "Language of the user's pages and e-mails: de (German) or en (English)"


class UserIn(StrictInput):
    email: EmailStr
    role: Role
    organisation: Line(200) | None = None  # type: ignore[valid-type]
    name: Line(200) | None = None  # type: ignore[valid-type]
    password: Password | None = None
    group_id: int | None = Field(
        None, description="The research group a group user edits (of their institution)"
    )
    language: Language | None = Field(
        None, description="Language of the user's pages and e-mails (default: German)"
    )


class UserPatch(StrictInput):
    active: bool | None = None
    name: Line(200) | None = None  # type: ignore[valid-type]
    password: Password | None = None
    role: Role | None = Field(
        None, description="A new role; a company or group role needs an organisation of its kind"
    )
    organisation: Line(200) | None = None  # type: ignore[valid-type]
    group_id: int | None = None


class MePatch(StrictInput):
    """What a user changes of their own account through the API: nothing else (a role, an
    organisation or activity is the admins' ``PATCH /users/{id}``)."""

    name: Line(200) | None = Field(  # type: ignore[valid-type]
        None, description="Your name; null empties it"
    )
    language: Language | None = Field(None, description=LANGUAGE_DESCRIPTION)


class PasswordChangeIn(StrictInput):
    """The password form of a signed-in user."""

    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)
    new_password: Password
    new_password_again: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class PasswordResetRequestIn(StrictInput):
    email: EmailStr


class PasswordResetIn(StrictInput):
    """A new password set through a link sent by e-mail."""

    new_password: Password
    new_password_again: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    organisation: str | None
    group_id: int | None
    active: bool
    language: Language = Field(
        description=LANGUAGE_DESCRIPTION + "; German until the user chooses one"
    )
    created_at: dt.datetime


class UserCreated(UserOut):
    token: str = Field(description="The new user's API token; shown only this once")


class TokenIn(StrictInput):
    name: Line(100) | None = Field(  # type: ignore[valid-type]
        None, description="What the token is for, e.g. the script that uses it"
    )
    expires_in_days: int | None = Field(
        TOKEN_DAYS_DEFAULT,
        ge=1,
        le=TOKEN_DAYS_MAX,
        description=f"Days until the token expires (default {TOKEN_DAYS_DEFAULT}, at most "
        f"{TOKEN_DAYS_MAX}); null: it never expires",
    )


class TokenInfo(BaseModel):
    """An API token as its owner sees it later: never the token itself."""

    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it")
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(description="To the minute")
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: Literal["active", "expired", "revoked"]


class TokenOut(TokenInfo):
    token: str = Field(description="The new token; shown only this once")


class TokenList(BaseModel):
    items: list[TokenInfo]


class UserQuery(PageQuery):
    role: Role | None = None
