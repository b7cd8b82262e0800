"""Bulk import of research groups, publications and challenges from CSV or JSON Lines.

Every row is validated with the API's schemas (``GroupIn``, ``PublicationIn``, ``ChallengeIn``)
before anything is written; a file with one invalid row writes nothing and names every bad row
and field. Rows carry an external ``key`` (the source system's id): importing a file again
updates the records it created instead of duplicating them, so a rerun gives the same result.

Order of work, chosen so that a killed worker leaves nothing half-written: parse and validate;
encode the passages the embedding store lacks (with progress — vectors are a cache keyed by
model and text, safe to keep); then write every row in one transaction.

File formats (one record per line or CSV row; ``docs``: README, *Production*):

- groups: ``key``, ``institution`` (its name; created if new), and the fields of ``GroupIn``
  (JSONL may nest ``publications``);
- challenges: ``key``, ``organisation`` (the company's name; created if new), and the fields of
  ``ChallengeIn``;
- publications: ``key``, ``group`` (the key of an imported group), and the fields of
  ``PublicationIn``.

In CSV, ``fields`` and ``keywords`` list their items separated by ``;``; empty cells are absent.

A row's ``language`` (``de``, ``en`` or ``other``) is stored as set by its owner; a row without one
gets the language detected from its text, detected again when a re-import changes the text
(:mod:`matchmaker.languages`).

- :mod:`~matchmaker.imports.models`: the ``ExternalKey`` table;
- :mod:`~matchmaker.imports.schemas`: kinds, rows, the invalid-file error, the API's bodies;
- :mod:`~matchmaker.imports.parsing`: reading and validating CSV / JSON Lines;
- :mod:`~matchmaker.imports.writing`: creating or updating the records, one writer per kind;
- :mod:`~matchmaker.imports.service`: the import run and its job handler;
- :mod:`~matchmaker.imports.views`: the JSON API (``/api/v1/imports``, ``/api/v1/jobs``);
- :mod:`~matchmaker.imports.bibtex`: publications from a pasted BibTeX or RIS file (pages).
"""

from matchmaker.imports.models import ExternalKey
from matchmaker.imports.parsing import detect_format, detect_kind, parse
from matchmaker.imports.schemas import FORMATS, MAX_ERRORS, ImportInvalid, ImportKind, Row
from matchmaker.imports.service import ENCODE_CHUNK, init_app, profiles_of, run_import
from matchmaker.imports.writing import apply

__all__ = [
    "ENCODE_CHUNK",
    "FORMATS",
    "MAX_ERRORS",
    "ExternalKey",
    "ImportInvalid",
    "ImportKind",
    "Row",
    "apply",
    "detect_format",
    "detect_kind",
    "init_app",
    "parse",
    "profiles_of",
    "run_import",
]
