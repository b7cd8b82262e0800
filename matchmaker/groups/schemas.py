"""Request and response schemas of research groups and publications."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from matchmaker.languages import (
    CONFIRMED_DESCRIPTION,
    LANGUAGE_OUT_DESCRIPTION,
    Language,
    language_in,
)
from matchmaker.schemas import TRL, FieldList, FieldOfAction, Line, PageQuery, StrictInput, Text

Keyword = Line(80)
Keywords = list[Keyword]  # type: ignore[valid-type]
#: Most papers have a handful of authors; a consortium paper may list hundreds (then the first).
MAX_AUTHORS = 100
AUTHORS_DESCRIPTION = (
    'Author names in their order, each as written ("Petersen, Jana"); shown, never matched on'
)
Author = Line(200)
Authors = list[Author]  # type: ignore[valid-type]
#: The years a publication may have: an earlier or later one is a typo.
YEAR_MIN, YEAR_MAX = 1900, 2100
Year = Annotated[int | None, Field(ge=YEAR_MIN, le=YEAR_MAX)]


class PublicationIn(StrictInput):
    title: Line(500)  # type: ignore[valid-type]
    abstract: Text(20_000) | None = None  # type: ignore[valid-type]
    year: Year = None
    doi: Line(200) | None = None  # type: ignore[valid-type]
    authors: Authors = Field(
        default_factory=list, max_length=MAX_AUTHORS, description=AUTHORS_DESCRIPTION
    )
    language: Language | None = language_in()


class PublicationPatch(StrictInput):
    title: Line(500) | None = None  # type: ignore[valid-type]
    abstract: Text(20_000) | None = None  # type: ignore[valid-type]
    year: Year = None
    doi: Line(200) | None = None  # type: ignore[valid-type]
    authors: Authors | None = Field(None, max_length=MAX_AUTHORS, description=AUTHORS_DESCRIPTION)
    language: Language | None = language_in()


class PublicationOut(BaseModel):
    id: int
    group_id: int
    title: str
    abstract: str
    year: int | None
    doi: str
    authors: list[str] = Field(description=AUTHORS_DESCRIPTION)
    language: Language = Field(description=LANGUAGE_OUT_DESCRIPTION + " (of title and abstract)")
    language_confirmed: bool = Field(description=CONFIRMED_DESCRIPTION)


class GroupIn(StrictInput):
    name: Line(200)  # type: ignore[valid-type]
    head: Line(200) | None = None  # type: ignore[valid-type]
    capabilities: Text(50_000)  # type: ignore[valid-type]
    methods: Text(20_000) | None = None  # type: ignore[valid-type]
    keywords: Keywords = Field(default_factory=list, max_length=50)
    fields: FieldList
    trl_min: TRL
    trl_max: TRL
    capacity: int = Field(1, ge=0, le=100)
    contact: Line(254) | None = None  # type: ignore[valid-type]
    language: Language | None = language_in()
    institution_id: int | None = Field(None, ge=1, description="Office only: the institution")
    publications: list[PublicationIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _trl_order(self) -> GroupIn:
        if self.trl_max < self.trl_min:
            raise PydanticCustomError("trl_max_below_min", "trl_max must be at least trl_min")
        return self


class GroupPatch(StrictInput):
    name: Line(200) | None = None  # type: ignore[valid-type]
    head: Line(200) | None = None  # type: ignore[valid-type]
    capabilities: Text(50_000) | None = None  # type: ignore[valid-type]
    methods: Text(20_000) | None = None  # type: ignore[valid-type]
    keywords: Keywords | None = Field(None, max_length=50)
    fields: FieldList | None = None
    trl_min: TRL | None = None
    trl_max: TRL | None = None
    capacity: int | None = Field(None, ge=0, le=100)
    contact: Line(254) | None = None  # type: ignore[valid-type]
    language: Language | None = language_in()


class GroupOut(BaseModel):
    id: int
    institution_id: int
    institution: str
    name: str
    head: str
    capabilities: str
    methods: str
    keywords: list[str]
    fields: list[FieldOfAction]
    trl_min: int
    trl_max: int
    capacity: int
    contact: str | None = Field(None, description="Shown to the group itself and the office")
    language: Language = Field(description=LANGUAGE_OUT_DESCRIPTION + " (of name and capabilities)")
    language_confirmed: bool = Field(description=CONFIRMED_DESCRIPTION)
    archived: bool
    publications: list[PublicationOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class GroupQuery(PageQuery):
    field: list[FieldOfAction] | None = None
    institution_id: int | None = Field(None, ge=1)
    archived: bool = False
