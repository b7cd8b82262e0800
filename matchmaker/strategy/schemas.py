"""Request and response schemas of the strategy."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from matchmaker.schemas import StrictInput

Weight = float


class StrategyIn(StrictInput):
    weights: dict[str, float] = Field(
        description="Weight 0–1 per field of action; fields not named keep their weight"
    )
    note: str = Field("", max_length=500)


class StrategyOut(BaseModel):
    version: int
    weights: dict[str, float]
    note: str
    created_at: dt.datetime


class StrategyHistory(BaseModel):
    items: list[StrategyOut]
