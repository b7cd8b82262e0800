"""The language of every stored text: a challenge, a group's profile, a publication.

A text's language is ``de``, ``en`` or ``other``. Its owner may set it; otherwise it is detected
(:func:`matchmaker.ranking.language.detect_language`) from the text that is public to matching —
a challenge's title and summary (never the confidential part), a group's name and capabilities,
a publication's title and abstract. ``language_confirmed`` tells the two apart: a detected
language is detected again whenever its text changes; a confirmed one is kept until its owner
changes it, or asks for detection again (``language: null`` in a PATCH, "automatic" in a form).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from matchmaker.ranking.language import LANGUAGES, detect_language

M = TypeVar("M", bound=BaseModel)

#: A text's language, as requests send it and responses return it.
Language = Literal["de", "en", "other"]

#: The request member: omitted (or null) means "detect it from the text".
LANGUAGE_IN_DESCRIPTION = (
    "The text's language: de, en or other. Omitted or null: detected from the text "
    "(and detected again when the text changes, until a language is set)."
)
LANGUAGE_OUT_DESCRIPTION = "The text's language: de, en or other"
CONFIRMED_DESCRIPTION = (
    "True when the owner set the language; false when it was detected from the text"
)


def language_in() -> Any:
    """The ``language`` member of a create or change request."""
    return Field(None, description=LANGUAGE_IN_DESCRIPTION)


def detect(*texts: str | None) -> str:
    """The language of ``texts`` read together (``en`` when they are too short to tell)."""
    return detect_language("\n".join(t for t in texts if t), default="en")


def for_new(given: str | None, *texts: str | None) -> tuple[str, bool]:
    """``(language, confirmed)`` of a new text: the owner's choice, else detected."""
    if given is not None:
        return given, True
    return detect(*texts), False


def update(
    obj: Any,
    *,
    sent: bool,
    given: str | None,
    text_changed: bool,
    texts: Callable[[], tuple[str | None, ...]],
) -> dict[str, list[Any]]:
    """Apply a change request's language rule to ``obj``; return ``{column: [old, new]}``.

    ``sent`` and ``given``: whether the request had a ``language`` member and its value.
    A language given is stored and confirmed; ``null`` sent asks for detection (unconfirmed);
    nothing sent re-detects an unconfirmed language when the text changed.
    """
    old = (obj.language, obj.language_confirmed)
    if sent and given is not None:
        obj.language, obj.language_confirmed = given, True
    elif sent:
        obj.language, obj.language_confirmed = detect(*texts()), False
    elif text_changed and not obj.language_confirmed:
        obj.language = detect(*texts())
    changes: dict[str, list[Any]] = {}
    for name, before in zip(("language", "language_confirmed"), old, strict=True):
        after = getattr(obj, name)
        if after != before:
            changes[name] = [before, after]
    return changes


def update_from_patch(
    obj: Any, patch: BaseModel, changes: dict[str, Any], text_fields: tuple[str, ...]
) -> dict[str, list[Any]]:
    """:func:`update` for a change request ``patch`` whose other members were applied with
    ``changes`` (``{column: [old, new]}``); ``text_fields`` are the columns the language is
    detected from."""
    return update(
        obj,
        sent="language" in patch.model_fields_set,
        given=getattr(patch, "language", None),
        text_changed=bool(set(text_fields) & changes.keys()),
        texts=lambda: tuple(getattr(obj, name) for name in text_fields),
    )


def without_language(patch: M) -> M:
    """``patch`` without its ``language`` member, for the generic patching of the other members
    (the language has its own rule: :func:`update`)."""
    return type(patch).model_construct(
        _fields_set=patch.model_fields_set - {"language"},
        **patch.model_dump(exclude={"language"}),
    )


__all__ = [
    "CONFIRMED_DESCRIPTION",
    "LANGUAGES",
    "LANGUAGE_IN_DESCRIPTION",
    "LANGUAGE_OUT_DESCRIPTION",
    "Language",
    "detect",
    "for_new",
    "language_in",
    "update",
    "update_from_patch",
    "without_language",
]
