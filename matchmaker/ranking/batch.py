"""The batch contract: JSON-lines profiles in, JSON-lines ranked matches out (see DESIGN.md)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from matchmaker.fields import FIELD_KEYS
from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.scoring import COMPONENTS, DEFAULT_CONFIG, CandidateIndex, ScoringConfig
from matchmaker.ranking.store import MemoryVectorStore, VectorStore
from matchmaker.ranking.types import Document, Profile

TRL = Annotated[int, Field(ge=1, le=9)]
FieldOfAction = Literal[FIELD_KEYS]  # type: ignore[valid-type]
Language = Literal["de", "en", "other"]


class InputError(ValueError):
    """A malformed input line: names the file, the line and the field."""

    def __init__(self, source: str, line: int, field: str | None, problem: str) -> None:
        self.source, self.line, self.field, self.problem = source, line, field, problem
        where = f'field "{field}": ' if field else ""
        super().__init__(f"{source} line {line}: {where}{problem}")


class _DocumentLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str | None = None
    title: str | None = None
    text: str | None = None
    # Documented extension: the document's language; detected when absent.
    language: Language | None = None


class _ProfileLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: Annotated[str, Field(min_length=1)]
    title: str | None = None
    text: str | None = None
    documents: list[_DocumentLine] | None = None
    fields: list[FieldOfAction] | None = None
    trl: TRL | None = None
    # Documented extension of the contract.
    trl_target: TRL | None = None
    trl_min: TRL | None = None
    trl_max: TRL | None = None
    capacity: Annotated[int, Field(ge=0)] | None = None
    institution: str | None = None
    language: Language | None = None

    def profile(self) -> Profile:
        return Profile(
            id=self.id,
            title=self.title or "",
            text=self.text or "",
            documents=tuple(
                Document(d.id or f"{self.id}#{i + 1}", d.title or "", d.text or "", d.language)
                for i, d in enumerate(self.documents or ())
            ),
            fields=tuple(dict.fromkeys(self.fields or ())),
            trl=self.trl,
            trl_target=self.trl_target,
            trl_min=self.trl_min,
            trl_max=self.trl_max,
            capacity=self.capacity,
            institution=self.institution,
            language=self.language,
        )


_PROBLEMS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "missing": "is required",
    "extra_forbidden": "is not part of the format",
    "string_too_short": "must not be empty",
}


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "literal_error" and error["loc"][:1] == ("fields",):
        known = ", ".join(FIELD_KEYS)
        return f"unknown field of action {error['input']!r} (known: {known})"
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    msg = str(error["msg"]).removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def parse_profiles(lines: Iterable[str], source: str) -> list[Profile]:
    """Validate JSON lines of the batch contract; raise :class:`InputError` at the first bad
    line. Blank lines are skipped; ids must be unique within the file."""
    profiles: list[Profile] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(source, number, None, f"not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise InputError(source, number, None, "must be a JSON object")
        try:
            parsed = _ProfileLine.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise InputError(source, number, _field_path(error["loc"]), _problem(error)) from None
        if parsed.id in seen:
            raise InputError(
                source,
                number,
                "id",
                f"duplicate id {parsed.id!r} (first on line {seen[parsed.id]})",
            )
        seen[parsed.id] = number
        profiles.append(parsed.profile())
    return profiles


def read_profiles(path: Path, source: str | None = None) -> list[Profile]:
    """Validated profiles of a JSON-lines file (errors name ``source``, default the path)."""
    with path.open(encoding="utf-8") as f:
        return parse_profiles(f, source or str(path))


def rank_batch(
    queries: Sequence[Profile],
    candidates: Sequence[Profile],
    embedder: Embedder,
    *,
    top: int | None = 10,
    config: ScoringConfig = DEFAULT_CONFIG,
    strategy: Mapping[str, float] | None = None,
    store: VectorStore | None = None,
    chunk: int = 256,
    show_progress: bool = False,
    dictionary: Dictionary | None = None,
) -> Iterator[dict[str, Any]]:
    """Output records of the contract, per query best first with ranks from 1; ``dictionary``
    measures the lexical overlap of German and English texts, as the service does.

    A candidate with the query's own id is left out (ranking a file against itself).
    """
    if not candidates:
        return
    store = store if store is not None else MemoryVectorStore()
    # Language means from both files: a German query file against English candidates has
    # its own German mean (see ranking/language.py).
    index, query_vectors, _ = CandidateIndex.build_for(
        candidates, queries, embedder, store, show_progress, dictionary
    )
    for start in range(0, len(queries), chunk):
        block = list(queries[start : start + chunk])
        vectors = query_vectors[start : start + chunk]
        scores, parts = index.score_matrix(block, vectors, strategy=strategy, config=config)
        for row, query in enumerate(block):
            order = index.top_indices(scores[row], top, exclude={query.id})
            for rank, j in enumerate(order, start=1):
                yield {
                    "query_id": query.id,
                    "candidate_id": index.candidate_ids[j],
                    "rank": rank,
                    "score": round(float(scores[row, j]), 6),
                    "components": {c: round(float(parts[c][row, j]), 6) for c in COMPONENTS},
                }


def write_jsonl_atomic(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write records to a temporary file beside ``path`` and rename it into place at the end,
    so a failure leaves no partial file. Returns the number of lines written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
