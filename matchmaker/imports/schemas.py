"""What an import reads and answers: the kinds of file, a valid row, the error of a bad file,
and the API's request and response bodies."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from matchmaker.challenges.schemas import ChallengeIn
from matchmaker.groups.schemas import GroupIn, PublicationIn
from matchmaker.jobs.runner import JobRejected

MAX_ERRORS = 100


class ImportKind(enum.StrEnum):
    GROUPS = "groups"
    CHALLENGES = "challenges"
    PUBLICATIONS = "publications"


FORMATS = ("jsonl", "csv")
#: The external key's kind of each kind of file's records.
ENTITY = {ImportKind.GROUPS: "group", ImportKind.CHALLENGES: "challenge",
          ImportKind.PUBLICATIONS: "publication"}  # fmt: skip
#: The column naming each record's owner.
OWNER = {ImportKind.GROUPS: "institution", ImportKind.CHALLENGES: "organisation",
         ImportKind.PUBLICATIONS: "group"}  # fmt: skip
SCHEMA: dict[ImportKind, type[BaseModel]] = {
    ImportKind.GROUPS: GroupIn,
    ImportKind.CHALLENGES: ChallengeIn,
    ImportKind.PUBLICATIONS: PublicationIn,
}


class ImportInvalid(JobRejected, ValueError):
    """The file has invalid rows; ``errors`` lists ``{"line", "field", "message"}``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors[:MAX_ERRORS]
        first = errors[0]
        super().__init__(
            f"{len(errors)} error(s); nothing was imported. First: line {first['line']}: "
            f"{first['field']}: {first['message']}"
        )

    @property
    def result(self) -> dict[str, Any]:
        """What a rejected import job records: every row's error."""
        return {"errors": self.errors}


@dataclass(frozen=True)
class Row:
    """One valid record: its line, external key, owner (institution, company or group key)."""

    line: int
    key: str
    owner: str
    data: Any


# --- the API ------------------------------------------------------------------------------------


class ImportIn(BaseModel):
    """A file to import, sent as text inside JSON (large files: ``matchmaker import FILE``)."""

    model_config = {"extra": "forbid"}

    data: str = Field(min_length=1, description="The file's text: JSON Lines or CSV")
    kind: ImportKind | None = Field(
        None, description="groups, challenges or publications; detected from the rows if absent"
    )
    format: Literal["jsonl", "csv"] | None = Field(
        None, description="Detected from the file name or the first character if absent"
    )
    filename: str | None = Field(None, max_length=200)
    wait: bool = Field(False, description="Run it before answering (small files)")


class ImportError_(BaseModel):
    line: int
    field: str
    message: str


class JobOut(BaseModel):
    id: int
    kind: Literal["import", "reembed"]
    status: Literal["queued", "running", "finished", "failed"]
    done: int = Field(description="Passages encoded so far")
    total: int = Field(description="Passages to encode")
    params: dict[str, Any]
    result: dict[str, Any] = Field(
        description="Counts when finished (created, updated, unchanged, ...); "
        "``errors`` per row when the file was rejected"
    )
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
