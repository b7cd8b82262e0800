"""Validation types shared by every domain's request and response schemas."""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from matchmaker.fields import FIELD_KEYS

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Bidirectional embeddings, overrides and isolates: in a title or a name they make text read
#: differently from how it is stored ("Trojan source"); plain RTL text needs none of them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _no_controls(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value.strip()


def _clean_text(value: str) -> str:
    value = _no_controls(value)
    if not value:
        raise PydanticCustomError("blank", "must not be empty")
    return value


def clean_line(value: str) -> str:
    """``value`` stripped, if it is a non-empty single line without control or bidirectional
    formatting characters; else a ``PydanticCustomError`` (a ``ValueError``) saying why (the
    rule of :func:`Line`)."""
    value = _clean_text(value)
    if "\n" in value or "\r" in value:
        raise PydanticCustomError("multiple_lines", "must be a single line")
    if _BIDI.search(value):
        raise PydanticCustomError(
            "bidi_characters", "must not contain bidirectional control characters"
        )
    return value


def Text(max_length: int, min_length: int = 1) -> Any:
    """A non-empty, stripped text without control characters (newlines allowed), of at least
    ``min_length`` characters once stripped."""
    if min_length <= 1:
        return Annotated[
            str, Field(min_length=1, max_length=max_length), AfterValidator(_clean_text)
        ]

    def at_least(value: str) -> str:
        if len(value) < min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": min_length},
            )
        return value

    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length),
        AfterValidator(_clean_text),
        AfterValidator(at_least),
    ]


def Line(max_length: int) -> Any:
    """A non-empty single line without control or bidirectional formatting characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(clean_line)]


def Note(max_length: int) -> Any:
    """A free text that may be empty (a note, a reason), stripped, without control characters
    (newlines and tabs allowed)."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_no_controls)]


FieldOfAction = Literal[FIELD_KEYS]  # type: ignore[valid-type]


def _unique_fields(value: list[str]) -> list[str]:
    seen: list[str] = []
    for item in value:
        if item not in seen:
            seen.append(item)
    return seen


FieldList = Annotated[
    list[FieldOfAction], Field(min_length=1, max_length=6), AfterValidator(_unique_fields)
]
TRL = Annotated[int, Field(ge=1, le=9, description="Technology readiness level, 1–9")]


class StrictInput(BaseModel):
    """Request bodies: unknown members are errors, JSON types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


def page_of(items: list[Any], query: PageQuery, total: int) -> dict[str, Any]:
    """A :class:`Page` of ``items``, the ``query``'s page of ``total`` rows."""
    return {"items": items, "page": query.page, "per_page": query.per_page, "total": total}


class PageQuery(BaseModel):
    """Pagination and text search parameters shared by every list."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)
    q: str | None = Field(None, max_length=200, description="Text search")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list."""

    items: list[T]
    page: int
    per_page: int
    total: int
