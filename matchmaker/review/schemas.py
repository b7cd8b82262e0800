"""Request and response schemas of proposals and decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, RootModel

from matchmaker.matching.models import ProposalStatus
from matchmaker.schemas import FieldOfAction, Note, PageQuery, StrictInput


class DecisionIn(StrictInput):
    to_status: ProposalStatus
    reason_code: str = Field(min_length=1, max_length=40)
    note: Note(5000) = ""  # type: ignore[valid-type]


class DecisionOut(BaseModel):
    """A decision as the office sees it: with its note, who decided, and the score then."""

    id: int
    proposal_id: int
    from_status: ProposalStatus
    to_status: ProposalStatus
    reason_code: str
    note: str
    score: float
    components: dict[str, Any]
    decided_by_id: int | None
    created_at: dt.datetime


class StatusChangeOut(BaseModel):
    """A step of a proposal's status history, as the introduced company and group see it: the
    office's note, reason, who decided and the score stay with the office."""

    id: int
    proposal_id: int
    from_status: ProposalStatus
    to_status: ProposalStatus
    created_at: dt.datetime


class DecisionView(RootModel[DecisionOut | StatusChangeOut]):
    """A decision just taken: in full (DecisionOut) for the office, as a step of the status
    history (StatusChangeOut) for the company or group that reported it."""


class DecisionList(BaseModel):
    """The decisions on a proposal, oldest first: in full (DecisionOut) for the office, the
    status history only (StatusChangeOut) for the introduced parties."""

    items: list[DecisionOut | StatusChangeOut]


class _ProposalPair(BaseModel):
    """Who a proposal introduces to whom: the members every reader of a proposal sees first."""

    id: int
    challenge_id: int
    challenge: str
    group_id: int
    group: str
    institution: str


class ProposalOut(_ProposalPair):
    """A proposal as the office sees it: with its score, the score's parts and the evidence."""

    score: float
    components: dict[str, Any]
    evidence: dict[str, Any] | None
    unconstrained_rank: int | None
    strategy_version: int
    scorer: str
    status: ProposalStatus
    run_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PartyProposalOut(_ProposalPair):
    """A proposal as the introduced company and group see it: who was introduced to whom, its
    status and the status history; the score, its parts, the evidence and the office's notes
    stay with the office."""

    status: ProposalStatus
    history: list[StatusChangeOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class ProposalView(RootModel[ProposalOut | PartyProposalOut]):
    """A proposal: in full (ProposalOut) for the office, without the office's internals
    (PartyProposalOut) for the introduced company and group."""


class ProposalQuery(PageQuery):
    status: list[ProposalStatus] | None = None
    field: list[FieldOfAction] | None = None
    institution_id: int | None = Field(None, ge=1)
    challenge_id: int | None = Field(None, ge=1)
    group_id: int | None = Field(None, ge=1)


class ExclusionIn(StrictInput):
    challenge_id: int = Field(ge=1)
    group_id: int = Field(ge=1)
    reason: Note(500) = ""  # type: ignore[valid-type]


class ExclusionOut(BaseModel):
    id: int
    challenge_id: int
    group_id: int
    reason: str
