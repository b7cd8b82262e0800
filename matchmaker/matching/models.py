"""Proposals, matching runs, exclusions and the embedding store."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.challenges.models import Challenge
from matchmaker.db import Base, created_at, intpk, updated_at, value_enum
from matchmaker.groups.models import ResearchGroup
from matchmaker.jobs.models import Tracked, TrackedStatus


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    SHORTLISTED = "shortlisted"
    INTRODUCED = "introduced"
    IN_TALKS = "in_talks"
    COLLABORATION = "collaboration"
    DECLINED = "declined"


#: Statuses in which the group has been introduced and may read the confidential details.
INTRODUCED_STATUSES = frozenset(
    {ProposalStatus.INTRODUCED, ProposalStatus.IN_TALKS, ProposalStatus.COLLABORATION}
)


#: A matching run's status (the tracked-run status under the runs' name).
RunStatus = TrackedStatus


class MatchingRun(Tracked, Base):
    """A portfolio matching run over all open challenges (a tracked run, as jobs are)."""

    __tablename__ = "matching_runs"

    id: Mapped[intpk]
    k: Mapped[int]
    max_per_institution: Mapped[int]
    strategy_version: Mapped[int]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(String(1000), default="")


class Proposal(Base):
    """A proposed collaboration of one challenge with one research group."""

    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("challenge_id", "group_id", name="uq_proposals_pair"),)

    id: Mapped[intpk]
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("research_groups.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("matching_runs.id"))
    score: Mapped[float]
    components: Mapped[dict[str, Any]]
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unconstrained_rank: Mapped[int | None]
    strategy_version: Mapped[int]
    scorer: Mapped[str] = mapped_column(String(40), default="formula")
    status: Mapped[ProposalStatus] = mapped_column(
        value_enum(ProposalStatus),
        default=ProposalStatus.PROPOSED,
        index=True,
    )
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    challenge: Mapped[Challenge] = relationship()
    group: Mapped[ResearchGroup] = relationship()


class Exclusion(Base):
    """A pair the office excluded (a conflict): never proposed again."""

    __tablename__ = "exclusions"
    __table_args__ = (UniqueConstraint("challenge_id", "group_id", name="uq_exclusions_pair"),)

    id: Mapped[intpk]
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("research_groups.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]


class PassageEmbedding(Base):
    """One stored vector, keyed by the model's id and the SHA-256 of the passage text."""

    __tablename__ = "passage_embeddings"
    __table_args__ = (UniqueConstraint("model_id", "text_hash", name="uq_passage_embeddings_key"),)

    id: Mapped[intpk]
    model_id: Mapped[str] = mapped_column(String(300))
    text_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class IndexState(Base):
    """Version counter of the searchable index; workers reload when it changes."""

    __tablename__ = "index_state"

    id: Mapped[intpk]
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[updated_at]
