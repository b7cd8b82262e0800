"""Request and response schemas of challenges."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from matchmaker.challenges.models import BudgetBand, ChallengeStatus
from matchmaker.languages import (
    CONFIRMED_DESCRIPTION,
    LANGUAGE_OUT_DESCRIPTION,
    Language,
    language_in,
)
from matchmaker.schemas import TRL, FieldList, FieldOfAction, Line, PageQuery, StrictInput, Text

#: A summary shorter than this cannot say what the problem is (nor be matched).
SUMMARY_MIN = 10
#: A challenge's deadline lies from this day on ...
EARLIEST_DEADLINE = dt.date(2000, 1, 1)
#: ... and at most this many years after today: a date outside is a typo ("0001-01-01",
#: "2205-06-30"), not a plan.
DEADLINE_YEARS_AHEAD = 20


def deadline_bounds(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The earliest and the latest deadline accepted today."""
    today = today or dt.date.today()
    try:
        latest = today.replace(year=today.year + DEADLINE_YEARS_AHEAD)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + DEADLINE_YEARS_AHEAD, day=28)
    return EARLIEST_DEADLINE, latest


def deadline_passed(deadline: dt.date | None, today: dt.date | None = None) -> bool:
    """Whether a challenge's deadline lies before today."""
    return deadline is not None and deadline < (today or dt.date.today())


def _deadline(value: dt.date | None) -> dt.date | None:
    if value is None:
        return None
    earliest, latest = deadline_bounds()
    if value < earliest:
        raise PydanticCustomError("deadline_too_early", "must not be before 2000-01-01")
    if value > latest:
        raise PydanticCustomError(
            "deadline_too_late", f"must be at most {DEADLINE_YEARS_AHEAD} years ahead"
        )
    return value


Deadline = Annotated[
    dt.date | None,
    AfterValidator(_deadline),
    Field(description=f"From 2000-01-01 to {DEADLINE_YEARS_AHEAD} years after today"),
]


class ChallengeIn(StrictInput):
    title: Line(200)  # type: ignore[valid-type]
    summary: Text(20_000, SUMMARY_MIN) = Field(  # type: ignore[valid-type]
        description=f"Public summary: what research groups see (at least {SUMMARY_MIN} characters)"
    )
    confidential: Text(50_000) | None = Field(  # type: ignore[valid-type]
        None, description="Shown to a group only after the office introduced it"
    )
    fields: FieldList
    trl_now: TRL
    trl_target: TRL
    budget_band: BudgetBand
    deadline: Deadline = None
    co2_saving_t: float | None = Field(
        None, ge=0, le=10_000_000, description="Expected CO2 saving, t/yr"
    )
    status: ChallengeStatus = ChallengeStatus.DRAFT
    language: Language | None = language_in()
    organisation_id: int | None = Field(
        None, ge=1, description="Office only: the company it belongs to"
    )

    @model_validator(mode="after")
    def _trl_order(self) -> ChallengeIn:
        if self.trl_target < self.trl_now:
            raise PydanticCustomError("trl_target_below_now", "trl_target must be at least trl_now")
        return self


class ChallengePatch(StrictInput):
    title: Line(200) | None = None  # type: ignore[valid-type]
    summary: Text(20_000, SUMMARY_MIN) | None = None  # type: ignore[valid-type]
    confidential: Text(50_000) | None = None  # type: ignore[valid-type]
    fields: FieldList | None = None
    trl_now: TRL | None = None
    trl_target: TRL | None = None
    budget_band: BudgetBand | None = None
    deadline: Deadline = None
    co2_saving_t: float | None = Field(None, ge=0, le=10_000_000)
    status: ChallengeStatus | None = None
    language: Language | None = language_in()


class ChallengeOut(BaseModel):
    id: int
    organisation_id: int
    organisation: str
    title: str
    summary: str
    confidential: str | None = Field(
        None, description="Present only for the owner, the office, and introduced groups"
    )
    fields: list[FieldOfAction]
    trl_now: int
    trl_target: int
    budget_band: BudgetBand
    deadline: dt.date | None
    co2_saving_t: float | None
    status: ChallengeStatus
    language: Language = Field(description=LANGUAGE_OUT_DESCRIPTION + " (of title and summary)")
    language_confirmed: bool = Field(description=CONFIRMED_DESCRIPTION)
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ChallengeQuery(PageQuery):
    field: list[FieldOfAction] | None = Field(None, description="Any of these fields of action")
    status: ChallengeStatus | None = None
    organisation_id: int | None = Field(None, ge=1)
    archived: bool = False
