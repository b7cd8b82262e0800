"""The one CSV writer of every export: cells that a spreadsheet would run as a formula are
neutralised, and German spreadsheets get the format they read (``;``, decimal comma).

Every file starts with a UTF-8 byte order mark, so spreadsheet programs read umlauts right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

#: A text cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and
#: Google Sheets; OWASP's advice is to prefix it with an apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
#: The formats of an export: ``standard`` (``,`` and a decimal point) and ``de`` (``;`` and a
#: decimal comma, as German spreadsheet programs expect).
FORMATS = ("standard", "de")


def neutralise(text: str) -> str:
    """``text`` as a cell no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any, *, decimal_comma: bool = False) -> str:
    """One value as a CSV cell: text neutralised, numbers with the format's decimal mark."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        return text.replace(".", ",") if decimal_comma else text
    return neutralise(str(value))


def write_csv(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, fmt: str = "standard"
) -> str:
    """A table as the text of a CSV file (with BOM) in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: one of {', '.join(FORMATS)}")
    german = fmt == "de"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if german else ",", lineterminator="\r\n")
    for row in [header, *rows]:
        writer.writerow([cell(v, decimal_comma=german) for v in row])
    return BOM + buffer.getvalue()
