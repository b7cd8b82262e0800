"""Stated interest of the parties and the office's learning settings."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk, updated_at, value_enum


class InterestSide(enum.StrEnum):
    GROUP = "group"
    COMPANY = "company"


class InterestValue(enum.StrEnum):
    INTERESTED = "interested"
    NOT_FOR_US = "not_for_us"


class StatedInterest(Base):
    """What one side said about a (challenge, group) pair: a group about a challenge
    ("interested" / "not for us", with a reason), a company about a group it would like to meet."""

    __tablename__ = "stated_interests"
    __table_args__ = (
        UniqueConstraint("challenge_id", "group_id", "side", name="uq_stated_interests_pair_side"),
    )

    id: Mapped[intpk]
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("research_groups.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[InterestSide] = mapped_column(value_enum(InterestSide))
    value: Mapped[InterestValue] = mapped_column(value_enum(InterestValue))
    reason: Mapped[str] = mapped_column(String(500), default="")
    stated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class LearningSetting(Base):
    """One office setting of the learning features, by key (``scorer``: formula or learned)."""

    __tablename__ = "learning_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[updated_at]
