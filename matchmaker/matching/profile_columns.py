"""What the two kinds of profile the ranker reads (a challenge, a research group) have alike:
the TRL range checks and the columns of language, seed key, archiving and times."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String, false
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import created_at, updated_at


def trl_range(low: str, high: str) -> tuple[CheckConstraint, CheckConstraint, CheckConstraint]:
    """The checks of a TRL range in columns ``low`` and ``high``: each 1 to 9, in order."""
    return (
        CheckConstraint(f"{low} BETWEEN 1 AND 9", name=low),
        CheckConstraint(f"{high} BETWEEN 1 AND 9", name=high),
        CheckConstraint(f"{high} >= {low}", name="trl_order"),
    )


class ProfileColumns:
    """The columns a challenge and a research group share, after their own (the times last:
    ``sort_order=1``, after a table's own columns of that order, keeps the migrations' order)."""

    #: ``de``, ``en`` or ``other`` (:data:`matchmaker.languages.LANGUAGES`) of the profile's
    #: text (a challenge's title and summary, a group's name and capabilities).
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: True when the owner chose the language; false when it was detected (and is re-detected
    #: when the text changes).
    language_confirmed: Mapped[bool] = mapped_column(default=False, server_default=false())
    seed_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    archived_at: Mapped[dt.datetime | None] = mapped_column(sort_order=1)
    created_at: Mapped[created_at] = mapped_column(sort_order=1)
    updated_at: Mapped[updated_at] = mapped_column(sort_order=1)
