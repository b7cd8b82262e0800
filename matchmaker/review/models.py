"""Decisions the office takes on proposals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk

#: Reason codes an office reviewer picks from when deciding.
REASON_CODES: dict[str, tuple[str, str]] = {
    "good_fit": ("Passt gut", "Good fit"),
    "topic_mismatch": ("Passt thematisch nicht", "Topic does not fit"),
    "wrong_field": ("Falsches Handlungsfeld", "Wrong field"),
    "trl_mismatch": ("TRL passt nicht", "TRL mismatch"),
    "group_at_capacity": ("Gruppe ausgelastet", "Group at capacity"),
    "already_collaborating": ("Arbeiten schon zusammen", "Already collaborating"),
    "conflict_of_interest": ("Interessenkonflikt", "Conflict of interest"),
    "budget_mismatch": ("Budget passt nicht", "Budget mismatch"),
    "party_declined": ("Partei hat abgesagt", "A party declined"),
    "other": ("Sonstiges", "Other"),
}


class Decision(Base):
    """One step of a proposal through the pipeline, with who, why and the scores it had then."""

    __tablename__ = "decisions"

    id: Mapped[intpk]
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float]
    components: Mapped[dict[str, Any]]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
