"""Reading publications from a pasted BibTeX or RIS file, for preview and import on the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext

from matchmaker.groups.schemas import MAX_AUTHORS, PublicationIn
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


def _latex_name(name: str) -> str:
    from pylatexenc.latex2text import LatexNodes2Text

    try:
        return _clean(LatexNodes2Text().latex_to_text(name)) or _clean(name)
    except Exception:  # a broken macro: the name as written
        return _clean(name)


def _names(value: Any) -> list[str]:
    """A BibTeX ``author`` field ("Müller, Jana and Ole Hansen and others") or a RIS author list
    as a list of names, each as written (LaTeX decoded); BibTeX's "others" (et al.) is no name."""
    if not value:
        return []
    names = value if isinstance(value, list) else [value]
    out = [_latex_name(str(n)) for n in names]
    # A consortium paper may list hundreds: the first ones say who wrote it.
    return [n for n in out if n and n.lower() != "others"][:MAX_AUTHORS]


def _bibtex(text: str) -> list[dict[str, Any]]:
    import bibtexparser
    from bibtexparser import middlewares

    # Co-authors are separated first, at "and" outside braces ("{Barnes and Noble}" is one
    # name), before LaTeX decoding drops the braces; the names are decoded one by one.
    try:
        library = bibtexparser.parse_string(
            text,
            append_middleware=[
                middlewares.SeparateCoAuthors(),
                middlewares.LatexDecodingMiddleware(),
            ],
        )
    except Exception:  # a broken LaTeX macro: read the raw values instead
        library = bibtexparser.parse_string(
            text, append_middleware=[middlewares.SeparateCoAuthors()]
        )
    rows: list[tuple[int, dict[str, Any]]] = []
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
                    "authors": _names(f.get("author")),
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
                    "authors": [],
                    FAILED: key.group(1) if key else "",
                    FAILED_LINE: str((block.start_line or 0) + 1),
                },
            )
        )
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _ris(text: str) -> list[dict[str, Any]]:
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
                "authors": _names(rec.get("authors") or rec.get("first_authors")),
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
        data["authors"] = row["authors"]
        publication, errors = validate_form(PublicationIn, data)
        entries.append(Entry(values=row, errors=errors, publication=publication))
    return kind, entries
