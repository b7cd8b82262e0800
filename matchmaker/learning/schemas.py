"""Request and response schemas of stated interest, the scorer setting and explanations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from matchmaker.schemas import StrictInput


class GroupInterestIn(StrictInput):
    value: Literal["interested", "not_for_us", "none"] = Field(
        description='"interested", "not_for_us" (give a reason) or "none" to withdraw'
    )
    reason: str = Field("", max_length=500)


class CompanyInterestIn(StrictInput):
    challenge_id: int = Field(ge=1, description="Your challenge for which you would meet the group")
    value: Literal["interested", "none"] = Field(description='"interested" or "none" to withdraw')
    reason: str = Field("", max_length=500)


class InterestOut(BaseModel):
    challenge_id: int
    group_id: int
    side: Literal["group", "company"]
    value: Literal["interested", "not_for_us", "none"]
    reason: str


class ScorerIn(StrictInput):
    scorer: Literal["formula", "learned"]


class ScorerOut(BaseModel):
    scorer: Literal["formula", "learned"] = Field(description="The office's choice")
    active: Literal["formula", "learned"] = Field(description="The scorer proposals use now")
    reason: str
    min_decisions: int
    model: dict[str, Any] | None = Field(
        description="The saved model's metadata: training date, decisions, features, CV metrics"
    )


class Contribution(BaseModel):
    feature: str
    label: str
    value: float
    typical: float
    effect: float = Field(description="Learned score minus the score with a typical value")


class LearnedOut(BaseModel):
    model: str
    trained_at: str
    formula_score: float
    learned_score: float
    formula_rank: int
    learned_rank: int
    moved: int = Field(description="Places the learned model moved the group up (negative: down)")
    contributions: list[Contribution]


class ExplanationOut(BaseModel):
    proposal_id: int
    scorer: str
    score: float
    formula_score: float | None
    interest: dict[str, Any] | None
    learned: LearnedOut | None
    features: dict[str, float]
