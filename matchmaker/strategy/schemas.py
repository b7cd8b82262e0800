"""Request and response schemas of the strategy."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from matchmaker.schemas import FieldOfAction, Note, StrictInput


def _weight(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise PydanticCustomError("weight_range", "must be between 0 and 1")
    return value


#: The office's weight of one field of action: 0 (ignore) to 1 (full priority).
Weight = Annotated[float, AfterValidator(_weight)]


class StrategyIn(StrictInput):
    weights: dict[FieldOfAction, Weight] = Field(
        min_length=1,
        description="Weight 0–1 per field of action; fields not named keep their weight",
    )
    note: Note(500) = ""  # type: ignore[valid-type]


class StrategyOut(BaseModel):
    version: int
    weights: dict[str, float]
    note: str
    created_at: dt.datetime


class StrategyHistory(BaseModel):
    items: list[StrategyOut]
