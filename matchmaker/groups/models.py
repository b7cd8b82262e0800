"""Research groups and their publications."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.db import Base, created_at, intpk
from matchmaker.matching.profile_columns import ProfileColumns, trl_range
from matchmaker.organisations.models import Organisation


class ResearchGroup(ProfileColumns, Base):
    """A university or institute group that registers what it can do."""

    __tablename__ = "research_groups"
    __table_args__ = (
        *trl_range("trl_min", "trl_max"),
        CheckConstraint("capacity >= 0", name="capacity"),
    )

    id: Mapped[intpk]
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    head: Mapped[str] = mapped_column(String(200), default="")
    capabilities: Mapped[str] = mapped_column(Text)
    methods: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]]
    fields: Mapped[list[str]]
    trl_min: Mapped[int]
    trl_max: Mapped[int]
    capacity: Mapped[int] = mapped_column(default=1)
    contact: Mapped[str] = mapped_column(String(254), default="")

    institution: Mapped[Organisation] = relationship()
    publications: Mapped[list[Publication]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="Publication.id"
    )

    def offer(self) -> dict[str, Any]:
        """What the group says it can do, as plain values: what its profile shows and what the
        ranker reads (its capabilities and methods, keywords, fields and TRL range)."""
        return {
            "capabilities": self.capabilities,
            "methods": self.methods,
            "keywords": list(self.keywords),
            "fields": list(self.fields),
            "trl_min": self.trl_min,
            "trl_max": self.trl_max,
        }


class Publication(Base):
    """A publication of a group: its title and abstract are evidence for matching."""

    __tablename__ = "publications"

    id: Mapped[intpk]
    group_id: Mapped[int] = mapped_column(
        ForeignKey("research_groups.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None]
    doi: Mapped[str] = mapped_column(String(200), default="")
    #: Author names in their order ("Petersen, Jana"); shown, never matched on.
    authors: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    #: The publication's own language (a German group may publish in English), of title and
    #: abstract; see ``Challenge.language``.
    language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")
    language_confirmed: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[created_at]

    group: Mapped[ResearchGroup] = relationship(back_populates="publications")
