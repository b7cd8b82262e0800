"""Technology challenges posted by companies."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.db import Base, created_at, intpk, updated_at, value_enum
from matchmaker.organisations.models import Organisation


class ChallengeStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    MATCHED = "matched"
    CLOSED = "closed"


class BudgetBand(enum.StrEnum):
    LT_50K = "lt_50k"
    FROM_50K_TO_250K = "50k_250k"
    FROM_250K_TO_1M = "250k_1m"
    GT_1M = "gt_1m"


class Challenge(Base):
    """A company's technology challenge: public summary, confidential details, targets."""

    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint("trl_now BETWEEN 1 AND 9", name="trl_now"),
        CheckConstraint("trl_target BETWEEN 1 AND 9", name="trl_target"),
        CheckConstraint("trl_target >= trl_now", name="trl_order"),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    confidential: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[str]]
    trl_now: Mapped[int]
    trl_target: Mapped[int]
    budget_band: Mapped[BudgetBand] = mapped_column(value_enum(BudgetBand))
    deadline: Mapped[dt.date | None]
    co2_saving_t: Mapped[float | None]
    status: Mapped[ChallengeStatus] = mapped_column(
        value_enum(ChallengeStatus),
        default=ChallengeStatus.DRAFT,
        index=True,
    )
    #: ``de``, ``en`` or ``other`` (:data:`matchmaker.languages.LANGUAGES`) of title and summary.
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: True when the owner chose the language; false when it was detected (and is re-detected
    #: when the text changes).
    language_confirmed: Mapped[bool] = mapped_column(default=False, server_default=false())
    seed_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    organisation: Mapped[Organisation] = relationship()
