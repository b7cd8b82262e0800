"""Reading publications from a pasted BibTeX or RIS file, for preview and import on the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext

from matchmaker.groups.schemas import PublicationIn
from matchmaker.web.helpers import validate_form

MAX_ENTRIES = 200
# Keys of a row the BibTeX parser could not read (never fields of a publication).
FAILED = "_failed_key"
FAILED_LINE = "_failed_line"


@dataclass
class Entry:
    """One parsed record: the values a publication gets, and why it cannot be imported (if so)."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    publication: PublicationIn | None = None


def detect_format(text: str) -> str:
    """``"bibtex"``, ``"ris"`` or ``""`` (neither)."""
    if re.search(r"^\s*@\w+\s*[{(]", text, re.MULTILINE):
        return "bibtex"
    if re.search(r"^TY  - ", text, re.MULTILINE):
        return "ris"
    return ""


def _clean(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text.replace("{", "").replace("}", "").strip()


def _year(value: Any) -> str:
    match = re.search(r"\b(1[9]\d\d|20\d\d|2100)\b", str(value or ""))
    return match.group(1) if match else ""


def _bibtex(text: str) -> list[dict[str, str]]:
    import bibtexparser
    from bibtexparser import middlewares

    try:
        library = bibtexparser.parse_string(
            text, append_middleware=[middlewares.LatexDecodingMiddleware()]
        )
    except Exception:  # a broken LaTeX macro: read the raw values instead
        library = bibtexparser.parse_string(text)
    rows: list[tuple[int, dict[str, str]]] = []
    for entry in library.entries:
        f = {k.lower(): v.value for k, v in entry.fields_dict.items()}
        rows.append(
            (
                entry.start_line or 0,
                {
                    "title": _clean(f.get("title")),
                    "abstract": _clean(f.get("abstract")),
                    "year": _year(f.get("year") or f.get("date")),
                    "doi": _clean(f.get("doi")),
                },
            )
        )
    # An entry the parser could not read is shown where it stood, named by its key and line,
    # rather than silently left out of the count.
    for block in library.failed_blocks:
        raw = str(getattr(block, "raw", "") or "")
        key = re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)", raw)
        rows.append(
            (
                block.start_line or 0,
                {
                    "title": "",
                    "abstract": "",
                    "year": "",
                    "doi": "",
                    FAILED: key.group(1) if key else "",
                    FAILED_LINE: str((block.start_line or 0) + 1),
                },
            )
        )
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _ris(text: str) -> list[dict[str, str]]:
    import rispy

    rows = []
    for rec in rispy.loads(text):
        title = rec.get("title") or rec.get("primary_title") or rec.get("translated_title") or ""
        rows.append(
            {
                "title": _clean(title),
                "abstract": _clean(rec.get("abstract") or rec.get("notes_abstract")),
                "year": _year(rec.get("year") or rec.get("publication_year") or rec.get("date")),
                "doi": _clean(rec.get("doi")),
            }
        )
    return rows


def parse(text: str) -> tuple[str, list[Entry]]:
    """The format found and each record, validated with the API's publication schema."""
    kind = detect_format(text)
    if not kind:
        return "", []
    try:
        rows = _bibtex(text) if kind == "bibtex" else _ris(text)
    except Exception:
        return kind, []
    entries = []
    for row in rows[:MAX_ENTRIES]:
        if FAILED in row:
            message = gettext(
                "entry %(key)s (line %(line)s) could not be read: check its braces and commas.",
                key=row.pop(FAILED) or "?",
                line=row.pop(FAILED_LINE),
            )
            entries.append(Entry(values=row, errors={"BibTeX": message}))
            continue
        data = {k: (v or None) for k, v in row.items()}
        data["title"] = row["title"]
        publication, errors = validate_form(PublicationIn, data)
        entries.append(Entry(values=row, errors=errors, publication=publication))
    return kind, entries
