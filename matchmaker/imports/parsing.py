"""Reading an import file: CSV or JSON Lines records, each validated with the API's schemas.

Every row is validated (``GroupIn``, ``PublicationIn``, ``ChallengeIn``) before anything is
written; a file with one invalid row raises :class:`ImportInvalid` naming every bad row and field.
In CSV, ``fields``, ``keywords`` and ``authors`` list their items separated by ``;``; empty cells
are absent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from matchmaker.imports.schemas import (
    FORMATS,
    MAX_ERRORS,
    OWNER,
    SCHEMA,
    ImportInvalid,
    ImportKind,
    Row,
)
from matchmaker.schemas import clean_line

#: A record is an object of fields whose publications nest one level more: anything nested
#: deeper than this is no record (and would exhaust the parser's recursion).
MAX_DEPTH = 16
_NOT_IN_FILES = {"institution_id", "organisation_id"}
_LIST_COLUMNS = {"fields", "keywords", "authors"}


def detect_format(text: str, filename: str = "") -> str:
    """``csv`` or ``jsonl``, from the file name or else the first character (JSON begins
    with ``{`` or ``[``; a CSV header with a name)."""
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if text.lstrip().startswith(("{", "[")) else "csv"


class _Unreadable(ValueError):
    """A line that is no record, with the message that says why."""


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _records(text: str, fmt: str) -> Iterator[tuple[int, Any]]:
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    record = json.loads(line)
                    too_deep = _too_deep(record)
                except RecursionError:
                    too_deep = True
                except ValueError as exc:
                    yield number, exc
                    continue
                if too_deep:
                    yield (
                        number,
                        _Unreadable(
                            f"nested more than {MAX_DEPTH} levels deep: a record is one JSON "
                            "object of fields"
                        ),
                    )
                else:
                    yield number, record
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if "key" not in (reader.fieldnames or []):
            yield (
                1,
                _Unreadable(
                    "the first line must be a header naming the columns, among them 'key' "
                    "(or send JSON Lines: one JSON object per line)"
                ),
            )
            return
        for record in reader:
            out: dict[str, Any] = {}
            for column, value in record.items():
                if column is None:
                    out["(extra cells)"] = value
                    continue
                column = column.strip()
                if value is None or not value.strip():
                    continue
                if column in _LIST_COLUMNS:
                    out[column] = [v.strip() for v in value.split(";") if v.strip()]
                else:
                    out[column] = value
            yield reader.line_num, out
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def detect_kind(record: dict[str, Any]) -> ImportKind:
    """What a file holds, judged by its first record."""
    if "capabilities" in record or "institution" in record:
        return ImportKind.GROUPS
    if "summary" in record or "organisation" in record:
        return ImportKind.CHALLENGES
    if "group" in record:
        return ImportKind.PUBLICATIONS
    raise ValueError(
        "cannot tell what the file holds; name the kind (groups, challenges or publications)"
    )


def _key_error(value: Any, name: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "required: a non-empty text"
    if len(value) > 200 or "\n" in value or "\r" in value:
        return "must be a single line of at most 200 characters"
    try:
        clean_line(value)  # a key or a name (an institution's, a company's) as the API takes it
    except ValueError as exc:
        return str(exc)
    return None


def parse(
    text: str, kind: str | None = None, fmt: str | None = None, filename: str = ""
) -> tuple[ImportKind, list[Row]]:
    """Read and validate every row; raise :class:`ImportInvalid` listing all bad rows."""
    fmt = fmt or detect_format(text, filename)
    errors: list[dict[str, Any]] = []
    rows: list[Row] = []
    seen: dict[str, int] = {}
    import_kind = ImportKind(kind) if kind else None
    for line, record in _records(text, fmt):
        if isinstance(record, _Unreadable):
            errors.append({"line": line, "field": "line", "message": str(record)})
            continue
        if isinstance(record, Exception):
            errors.append({"line": line, "field": "line", "message": f"not JSON: {record}"})
            continue
        if not isinstance(record, dict):
            what = "an array" if isinstance(record, list) else f"a {type(record).__name__}"
            errors.append(
                {
                    "line": line,
                    "field": "line",
                    "message": f"must be a JSON object (one record per line, JSON Lines), "
                    f"not {what}",
                }
            )
            continue
        if import_kind is None:
            import_kind = detect_kind(record)
        record = dict(record)
        key, owner = record.pop("key", None), record.pop(OWNER[import_kind], None)
        bad = False
        for name, value in (("key", key), (OWNER[import_kind], owner)):
            message = _key_error(value, name)
            if message:
                errors.append({"line": line, "field": name, "message": message})
                bad = True
        if isinstance(key, str) and key in seen:
            errors.append(
                {"line": line, "field": "key", "message": f"repeats the key of line {seen[key]}"}
            )
            bad = True
        for name in _NOT_IN_FILES & set(record):
            errors.append(
                {"line": line, "field": name, "message": f"use '{OWNER[import_kind]}' instead"}
            )
            bad = True
        try:
            data = SCHEMA[import_kind].model_validate_json(
                json.dumps({k: v for k, v in record.items() if k not in _NOT_IN_FILES}),
                strict=fmt == "jsonl",  # CSV cells are text: "3" is a TRL there
            )
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
                message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
                errors.append({"line": line, "field": loc or "row", "message": message})
            bad = True
        if not bad:
            seen[key] = line
            rows.append(Row(line, key.strip(), owner.strip(), data))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise ImportInvalid(errors)
    if import_kind is None or not rows:
        raise ImportInvalid([{"line": 0, "field": "file", "message": "the file has no rows"}])
    return import_kind, rows
