"""Organisations: companies and research institutions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk, updated_at, value_enum


class OrganisationKind(enum.StrEnum):
    COMPANY = "company"
    INSTITUTION = "institution"


class Organisation(Base):
    """A company that posts challenges or a research institution that hosts groups."""

    __tablename__ = "organisations"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(value_enum(OrganisationKind))
    city: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    seed_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
