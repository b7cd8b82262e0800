"""Request and response schemas of users and tokens."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, EmailStr, Field

from matchmaker.accounts.models import Role
from matchmaker.schemas import Line, PageQuery, StrictInput


class UserIn(StrictInput):
    email: EmailStr
    role: Role
    organisation: Line(200) | None = None  # type: ignore[valid-type]
    name: Line(200) | None = None  # type: ignore[valid-type]
    password: str | None = Field(None, min_length=10, max_length=200)


class UserPatch(StrictInput):
    active: bool | None = None
    name: Line(200) | None = None  # type: ignore[valid-type]
    password: str | None = Field(None, min_length=10, max_length=200)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    organisation: str | None
    group_id: int | None
    active: bool
    created_at: dt.datetime


class UserCreated(UserOut):
    token: str = Field(description="The new user's API token; shown only this once")


class TokenIn(StrictInput):
    name: Line(100) | None = None  # type: ignore[valid-type]


class TokenOut(BaseModel):
    token: str
    prefix: str


class UserQuery(PageQuery):
    role: Role | None = None
