"""Sample data (``seed_data/*.jsonl``) as ranking profiles and relevance judgements."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from matchmaker.ranking.types import Document, Profile


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def challenge_profile(record: Mapping[str, Any]) -> Profile:
    """A challenge as a profile: its public title and summary only (never the confidential
    text), fields of action, and TRL now → target."""
    return Profile(
        id=str(record["key"]),
        title=record.get("title") or "",
        text=record.get("summary") or "",
        fields=tuple(record.get("fields") or ()),
        trl=record.get("trl_now"),
        trl_target=record.get("trl_target"),
        language=record.get("language"),
    )


def group_profile(record: Mapping[str, Any]) -> Profile:
    """A research group as a profile: name + capability statement, methods and keywords, and
    each publication (title + abstract) as documents; fields, TRL range, capacity, institution."""
    key = str(record["key"])
    documents: list[Document] = []
    methods = (record.get("methods") or "").strip()
    keywords = ", ".join(record.get("keywords") or ())
    if methods or keywords:
        text = methods + (
            f"{'' if not methods or methods.endswith('.') else '.'} " if methods else ""
        )
        text += f"Keywords: {keywords}." if keywords else ""
        documents.append(
            Document(f"{key}:methods", "Methods and keywords", text.strip(), record.get("language"))
        )
    for i, pub in enumerate(record.get("publications") or ()):
        documents.append(
            Document(
                id=pub.get("doi") or f"{key}:publication-{i + 1}",
                title=pub.get("title") or "",
                text=pub.get("abstract") or "",
                # A publication is in its own language (a German group publishes in English).
                language=pub.get("language"),
            )
        )
    return Profile(
        id=key,
        title=record.get("name") or "",
        text=record.get("capabilities") or "",
        documents=tuple(documents),
        fields=tuple(record.get("fields") or ()),
        trl_min=record.get("trl_min"),
        trl_max=record.get("trl_max"),
        capacity=record.get("capacity"),
        institution=record.get("institution"),
        language=record.get("language"),
    )


@dataclass
class SeedData:
    """Challenges, groups and graded judgements ``challenge -> group -> relevance (0–3)``."""

    challenges: list[Profile]
    groups: list[Profile]
    judgements: dict[str, dict[str, int]] = field(default_factory=dict)


def load_seed(directory: Path) -> SeedData:
    """Read ``challenges.jsonl``, ``groups.jsonl`` and ``judgements.jsonl`` from ``directory``."""
    challenges = [challenge_profile(r) for r in read_jsonl(directory / "challenges.jsonl")]
    groups = [group_profile(r) for r in read_jsonl(directory / "groups.jsonl")]
    judgements: dict[str, dict[str, int]] = {}
    path = directory / "judgements.jsonl"
    if path.exists():
        for r in read_jsonl(path):
            judgements.setdefault(str(r["challenge"]), {})[str(r["group"])] = int(r["relevance"])
    return SeedData(challenges, groups, judgements)


#: Translations of challenges into another language, for measuring what the language costs
#: (``matchmaker evaluate``); the service never reads them.
TRANSLATIONS_FILE = "translations.jsonl"


def load_translated(directory: Path, data: SeedData) -> tuple[SeedData, set[str]] | None:
    """``data`` with each challenge of ``translations.jsonl`` (``key``, ``title``, ``summary``,
    ``language``) read in its translation instead, and the keys translated; None when the
    folder has no such file. A key no challenge has, or a record without a title, summary or
    language, is an error naming the line."""
    path = directory / TRANSLATIONS_FILE
    if not path.exists():
        return None
    known = {c.id: c for c in data.challenges}
    translated: dict[str, Profile] = {}
    for number, record in enumerate(read_jsonl(path), start=1):
        key = str(record.get("key", ""))
        if key not in known:
            raise ValueError(f"{path.name} line {number}: no challenge {key!r}")
        for name in ("title", "summary", "language"):
            if not isinstance(record.get(name), str) or not record[name].strip():
                raise ValueError(f"{path.name} line {number}: field {name!r} must be a text")
        translated[key] = replace(
            known[key], title=record["title"], text=record["summary"], language=record["language"]
        )
    challenges = [translated.get(c.id, c) for c in data.challenges]
    return SeedData(challenges, data.groups, data.judgements), set(translated)
