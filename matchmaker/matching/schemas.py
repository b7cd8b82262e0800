"""Request and response schemas of matching."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from matchmaker.schemas import StrictInput


class MatchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top: int = Field(10, ge=1, le=100)


class EvidencePairOut(BaseModel):
    query: str
    candidate: str
    document: str
    similarity: float


class TermPairOut(BaseModel):
    """A key term of the query's text and its translation in the candidate's text."""

    query: str
    candidate: str


class EvidenceOut(BaseModel):
    pairs: list[EvidencePairOut]
    terms: list[str]
    #: Key terms across languages (German word, English translation), by a dictionary.
    translations: list[TermPairOut] = []


class GroupMatch(BaseModel):
    rank: int
    group_id: int
    group: str
    institution: str
    score: float
    components: dict[str, float]
    evidence: EvidenceOut


class ChallengeMatch(BaseModel):
    rank: int
    challenge_id: int
    title: str
    summary: str
    organisation: str
    fields: list[str]
    score: float
    components: dict[str, float]
    evidence: EvidenceOut


class GroupMatches(BaseModel):
    challenge_id: int
    strategy_version: int
    items: list[GroupMatch]


class ChallengeMatches(BaseModel):
    group_id: int
    strategy_version: int
    items: list[ChallengeMatch]


class RunIn(StrictInput):
    k: int | None = Field(None, ge=1, le=50, description="Groups proposed per challenge")
    max_per_institution: int | None = Field(
        None, ge=1, le=50, description="At most m groups of one institution"
    )
    wait: bool = Field(False, description="Answer only when the run has finished")


class RunOut(BaseModel):
    id: int
    status: str
    k: int
    max_per_institution: int
    strategy_version: int
    done: int
    total: int
    summary: dict[str, Any]
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class SimilarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=3, max_length=5000)
    top: int = Field(5, ge=1, le=20)
    exclude_id: int | None = Field(None, ge=1)


class SimilarChallenge(BaseModel):
    challenge_id: int
    title: str
    organisation: str = Field(description="The company that posted it")
    score: float


class SimilarChallenges(BaseModel):
    items: list[SimilarChallenge]
