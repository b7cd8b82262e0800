"""Request and response schemas of organisations."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from matchmaker.organisations.models import OrganisationKind
from matchmaker.schemas import Line, PageQuery, StrictInput


def _website(value: str | None) -> str | None:
    if value and not value.startswith(("https://", "http://")):
        raise PydanticCustomError("website_scheme", "must start with https:// or http://")
    return value


class OrganisationIn(StrictInput):
    name: Line(200)  # type: ignore[valid-type]
    kind: OrganisationKind
    city: Line(120) = "Hamburg"  # type: ignore[valid-type]
    website: Line(300) | None = None  # type: ignore[valid-type]

    _check_website = field_validator("website")(_website)


class OrganisationPatch(StrictInput):
    name: Line(200) | None = None  # type: ignore[valid-type]
    city: Line(120) | None = None  # type: ignore[valid-type]
    website: Line(300) | None = None  # type: ignore[valid-type]

    _check_website = field_validator("website")(_website)


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: OrganisationKind
    city: str
    website: str
    archived: bool = False
    created_at: dt.datetime


class OrganisationQuery(PageQuery):
    kind: OrganisationKind | None = None
    archived: bool = Field(False, description="List archived organisations instead")
