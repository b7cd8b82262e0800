"""Technology challenges posted by companies."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.db import Base, intpk, value_enum
from matchmaker.matching.profile_columns import ProfileColumns, trl_range
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


class Challenge(ProfileColumns, Base):
    """A company's technology challenge: public summary, confidential details, targets."""

    __tablename__ = "challenges"
    __table_args__ = trl_range("trl_now", "trl_target")

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
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), sort_order=1)

    organisation: Mapped[Organisation] = relationship()
