"""CSV downloads of the pages: the format asked for (``?format=de`` for German spreadsheet
programs) and the response, written by the project's one CSV writer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response, request
from flask_babel import gettext

from matchmaker.api.problems import Problem
from matchmaker.csv_export import FORMATS, write_csv


def csv_format() -> str:
    """The request's ``format`` (``standard`` when left out); anything else is a 400 naming it."""
    fmt = request.args.get("format", "") or "standard"
    if fmt not in FORMATS:
        raise Problem(
            400,
            "Bad request",
            gettext("Unknown CSV format “%(format)s”: leave it out, or use “de”.", format=fmt),
            errors=[{"field": "format", "message": "one of de, standard"}],
        )
    return fmt


def csv_response(
    name: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], fmt: str
) -> Response:
    """A table as a CSV attachment ``matchmaker-<name>[-de].csv``: UTF-8 with BOM, and no cell
    runs as a formula."""
    suffix = "-de" if fmt == "de" else ""
    return Response(
        write_csv(header, rows, fmt=fmt),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="matchmaker-{name}{suffix}.csv"'},
    )
