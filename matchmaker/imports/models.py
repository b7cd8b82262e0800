"""The external keys of imported records: what makes a re-import an update."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk


class ExternalKey(Base):
    """The source system's key of an imported record: what makes a re-import an update."""

    __tablename__ = "external_keys"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_external_keys_kind_key"),)

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    entity_id: Mapped[int]
    created_at: Mapped[created_at]
