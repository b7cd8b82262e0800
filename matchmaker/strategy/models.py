"""The office's strategy: a weight per field of action, versioned."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk


class StrategyVersion(Base):
    """One version of the strategy weights; versions are never edited, only added."""

    __tablename__ = "strategy_versions"

    id: Mapped[intpk]
    version: Mapped[int] = mapped_column(unique=True)
    weights: Mapped[dict[str, Any]]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
