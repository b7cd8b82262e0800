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
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from pydantic import BaseModel, ValidationError
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from matchmaker import jobs, languages
from matchmaker.challenges.models import Challenge
from matchmaker.challenges.schemas import ChallengeIn
from matchmaker.db import Base, created_at, intpk, session_scope
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.groups.schemas import GroupIn, PublicationIn
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.ranking.types import Document, Profile
from matchmaker.schemas import clean_line

#: Passages encoded per chunk: large enough for sentence-transformers' length sorting to pay,
#: small enough for progress every few seconds.
ENCODE_CHUNK = 512
MAX_ERRORS = 100
#: A record is an object of fields whose publications nest one level more: anything nested
#: deeper than this is no record (and would exhaust the parser's recursion).
MAX_DEPTH = 16
_IN_CHUNK = 500


class ImportKind(enum.StrEnum):
    GROUPS = "groups"
    CHALLENGES = "challenges"
    PUBLICATIONS = "publications"


FORMATS = ("jsonl", "csv")
_ENTITY = {ImportKind.GROUPS: "group", ImportKind.CHALLENGES: "challenge",
           ImportKind.PUBLICATIONS: "publication"}  # fmt: skip
_OWNER = {ImportKind.GROUPS: "institution", ImportKind.CHALLENGES: "organisation",
          ImportKind.PUBLICATIONS: "group"}  # fmt: skip
_SCHEMA: dict[ImportKind, type[BaseModel]] = {
    ImportKind.GROUPS: GroupIn,
    ImportKind.CHALLENGES: ChallengeIn,
    ImportKind.PUBLICATIONS: PublicationIn,
}
_NOT_IN_FILES = {"institution_id", "organisation_id"}
_LIST_COLUMNS = {"fields", "keywords"}


class ExternalKey(Base):
    """The source system's key of an imported record: what makes a re-import an update."""

    __tablename__ = "external_keys"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_external_keys_kind_key"),)

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    entity_id: Mapped[int]
    created_at: Mapped[created_at]


class ImportInvalid(jobs.JobRejected, ValueError):
    """The file has invalid rows; ``errors`` lists ``{"line", "field", "message"}``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors[:MAX_ERRORS]
        first = errors[0]
        super().__init__(
            f"{len(errors)} error(s); nothing was imported. First: line {first['line']}: "
            f"{first['field']}: {first['message']}"
        )

    @property
    def result(self) -> dict[str, Any]:
        """What a rejected import job records: every row's error."""
        return {"errors": self.errors}


@dataclass(frozen=True)
class Row:
    """One valid record: its line, external key, owner (institution, company or group key)."""

    line: int
    key: str
    owner: str
    data: Any


# --- reading and validating ---------------------------------------------------------------------


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
        key, owner = record.pop("key", None), record.pop(_OWNER[import_kind], None)
        bad = False
        for name, value in (("key", key), (_OWNER[import_kind], owner)):
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
                {"line": line, "field": name, "message": f"use '{_OWNER[import_kind]}' instead"}
            )
            bad = True
        try:
            data = _SCHEMA[import_kind].model_validate_json(
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


# --- passages to encode -------------------------------------------------------------------------


def profiles_of(kind: ImportKind, rows: Sequence[Row]) -> list[Profile]:
    """The rows as the ranker will see them once stored (the same passages, hence vectors)."""
    from matchmaker.matching.profiles import MATCHABLE_STATUSES
    from matchmaker.ranking.seed import challenge_profile, group_profile

    profiles: list[Profile] = []
    for row in rows:
        d = row.data
        if kind == ImportKind.GROUPS:
            profiles.append(
                group_profile(
                    {
                        "key": row.key,
                        "name": d.name,
                        "capabilities": d.capabilities,
                        "methods": d.methods or "",
                        "keywords": list(d.keywords),
                        "publications": [
                            {"title": p.title, "abstract": p.abstract or ""} for p in d.publications
                        ],
                    }
                )
            )
        elif kind == ImportKind.CHALLENGES:
            if d.status in MATCHABLE_STATUSES:
                profiles.append(
                    challenge_profile({"key": row.key, "title": d.title, "summary": d.summary})
                )
        else:
            profiles.append(
                Profile(id=row.key, documents=(Document(row.key, d.title, d.abstract or ""),))
            )
    return profiles


# --- writing ------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _known_keys(session: Session, entity: str, keys: Sequence[str]) -> dict[str, ExternalKey]:
    found: dict[str, ExternalKey] = {}
    for chunk in _chunks(keys):
        for ek in session.scalars(
            select(ExternalKey).where(ExternalKey.kind == entity, ExternalKey.key.in_(chunk))
        ):
            found[ek.key] = ek
    return found


def _organisations(
    session: Session, rows: Sequence[Row], kind: OrganisationKind, errors: list[dict[str, Any]]
) -> tuple[dict[str, Organisation], int]:
    names = list(dict.fromkeys(r.owner for r in rows))
    orgs: dict[str, Organisation] = {}
    for chunk in _chunks(names):
        for org in session.scalars(select(Organisation).where(Organisation.name.in_(chunk))):
            orgs[org.name] = org
    created = 0
    for name in names:
        if name not in orgs:
            orgs[name] = Organisation(name=name[:200], kind=kind, city="", website="")
            session.add(orgs[name])
            created += 1
    field = "institution" if kind == OrganisationKind.INSTITUTION else "organisation"
    for row in rows:
        org = orgs[row.owner]
        if org.kind != kind:
            errors.append(
                {"line": row.line, "field": field, "message": f"{row.owner!r} is not a {kind}"}
            )
        elif org.archived_at is not None:
            errors.append(
                {"line": row.line, "field": field, "message": f"{row.owner!r} is archived"}
            )
    return orgs, created


def _set(entity: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(entity, name) != value:
            setattr(entity, name, value)
            changed = True
    return changed


def _blank(values: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if values.get(name) is None:
            values[name] = ""
    return values


def _publication_values(p: PublicationIn) -> dict[str, Any]:
    """A publication row's values; its language only when the row sets one."""
    values = {"title": p.title, "abstract": p.abstract or "", "year": p.year, "doi": p.doi or ""}
    if p.language is not None:
        values.update(language=p.language, language_confirmed=True)
    return values


def _new_publication(values: dict[str, Any]) -> Publication:
    if "language" not in values:
        values = {**values, "language": languages.detect(values["title"], values["abstract"])}
    return Publication(**values)


def _same_publications(stored: Sequence[Publication], rows: Sequence[dict[str, Any]]) -> bool:
    """Whether the stored publications are the rows (a row without language keeps the stored)."""
    return len(stored) == len(rows) and all(
        all(getattr(p, name) == value for name, value in row.items())
        for p, row in zip(stored, rows, strict=True)
    )


def _set_with_language(
    entity: Any, values: dict[str, Any], text: tuple[str, ...], given: str | None
) -> bool:
    """Set ``values`` (without ``language``) on an existing record, then its language: the
    row's when it has one, else detected again if the text changed and it was detected before."""
    values = {k: v for k, v in values.items() if k not in ("language", "language_confirmed")}
    text_changed = any(getattr(entity, name) != values[name] for name in text)
    changed = _set(entity, values)
    language_changes = languages.update(
        entity,
        sent=given is not None,
        given=given,
        text_changed=text_changed,
        texts=lambda: tuple(getattr(entity, name) for name in text),
    )
    return changed or bool(language_changes)


def _entities(session: Session, model: Any, ids: Sequence[int], *options: Any) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for chunk in _chunks(list(ids)):
        for entity in session.scalars(select(model).where(model.id.in_(chunk)).options(*options)):
            out[entity.id] = entity
    return out


def apply(
    session: Session,
    kind: ImportKind,
    rows: Sequence[Row],
    *,
    user_id: int | None = None,
    job_id: int | None = None,
) -> dict[str, int]:
    """Create or update the records of ``rows`` in the caller's transaction (never commits).

    Raises :class:`ImportInvalid` (the caller rolls back) for rows the database rejects: an
    owner of the wrong kind, a publication of an unknown group.
    """
    from matchmaker.audit.service import record
    from matchmaker.matching import index_state

    entity = _ENTITY[kind]
    errors: list[dict[str, Any]] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "organisations_created": 0}
    known = _known_keys(session, entity, [r.key for r in rows])
    new: list[tuple[str, Any]] = []

    if kind == ImportKind.GROUPS:
        orgs, counts["organisations_created"] = _organisations(
            session, rows, OrganisationKind.INSTITUTION, errors
        )
        existing = _entities(
            session,
            ResearchGroup,
            [k.entity_id for k in known.values()],
            selectinload(ResearchGroup.publications),
        )
        for row in rows:
            d = row.data
            values = _blank(
                d.model_dump(exclude={"institution_id", "publications"}),
                "head",
                "methods",
                "contact",
            )
            pubs = [_publication_values(p) for p in d.publications]
            ek = known.get(row.key)
            group = existing.get(ek.entity_id) if ek else None
            if group is None:
                values["language"], values["language_confirmed"] = languages.for_new(
                    d.language, d.name, d.capabilities
                )
                group = ResearchGroup(institution=orgs[row.owner], **values)
                group.publications = [_new_publication(p) for p in pubs]
                session.add(group)
                new.append((row.key, group))
                continue
            changed = _set_with_language(group, values, ("name", "capabilities"), d.language)
            if group.institution_id != orgs[row.owner].id:
                group.institution = orgs[row.owner]
                changed = True
            if not _same_publications(group.publications, pubs):
                group.publications = [_new_publication(p) for p in pubs]
                changed = True
            counts["updated" if changed else "unchanged"] += 1

    elif kind == ImportKind.CHALLENGES:
        orgs, counts["organisations_created"] = _organisations(
            session, rows, OrganisationKind.COMPANY, errors
        )
        existing = _entities(session, Challenge, [k.entity_id for k in known.values()])
        for row in rows:
            d = row.data
            values = _blank(d.model_dump(exclude={"organisation_id"}), "confidential")
            ek = known.get(row.key)
            challenge = existing.get(ek.entity_id) if ek else None
            if challenge is None:
                values["language"], values["language_confirmed"] = languages.for_new(
                    d.language, d.title, d.summary
                )
                challenge = Challenge(organisation=orgs[row.owner], created_by_id=user_id, **values)
                session.add(challenge)
                new.append((row.key, challenge))
                continue
            changed = _set_with_language(challenge, values, ("title", "summary"), d.language)
            if challenge.organisation_id != orgs[row.owner].id:
                challenge.organisation = orgs[row.owner]
                changed = True
            counts["updated" if changed else "unchanged"] += 1

    else:
        group_keys = _known_keys(session, "group", list(dict.fromkeys(r.owner for r in rows)))
        groups = _entities(session, ResearchGroup, [k.entity_id for k in group_keys.values()])
        existing = _entities(session, Publication, [k.entity_id for k in known.values()])
        for row in rows:
            gk = group_keys.get(row.owner)
            if gk is None or gk.entity_id not in groups:
                errors.append(
                    {
                        "line": row.line,
                        "field": "group",
                        "message": f"no group has key {row.owner!r}",
                    }
                )
                continue
            values = {"group_id": gk.entity_id, **_publication_values(row.data)}
            ek = known.get(row.key)
            pub = existing.get(ek.entity_id) if ek else None
            if pub is None:
                pub = _new_publication(values)
                session.add(pub)
                new.append((row.key, pub))
                continue
            changed = _set_with_language(pub, values, ("title", "abstract"), row.data.language)
            counts["updated" if changed else "unchanged"] += 1

    if errors:
        raise ImportInvalid(errors)
    session.flush()
    for key, obj in new:
        ek = known.get(key)
        if ek is not None:  # the record it named is gone: the key now names the new one
            ek.entity_id = obj.id
        else:
            session.add(ExternalKey(kind=entity, key=key, entity_id=obj.id))
    counts["created"] = len(new)
    if counts["created"] or counts["updated"]:
        index_state.bump(session)
    record(session, user_id, "import", job_id, "create", {"kind": kind.value, **counts})
    session.flush()
    return counts


# --- the job ------------------------------------------------------------------------------------


def run_import(
    app: Flask,
    text: str,
    *,
    kind: str | None = None,
    fmt: str | None = None,
    filename: str = "",
    user_id: int | None = None,
    job_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Validate, encode (with progress), then write everything in one transaction."""
    from matchmaker.matching.engine import get_matcher

    started = dt.datetime.now(dt.UTC)
    import_kind, rows = parse(text, kind, fmt, filename)
    matcher = get_matcher(app)
    encoded = matcher.warm_store(profiles_of(import_kind, rows), progress, batch=ENCODE_CHUNK)
    with session_scope(app) as session:
        counts = apply(session, import_kind, rows, user_id=user_id, job_id=job_id)
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return {
        "kind": import_kind.value,
        "rows": len(rows),
        **counts,
        "passages_encoded": encoded,
        "seconds": round(seconds, 2),
    }


def _import_job(app: Flask, work: jobs.JobWork, progress: jobs.Progress) -> dict[str, Any]:
    return run_import(
        app,
        work.payload or "",
        kind=work.params.get("kind"),
        fmt=work.params.get("format"),
        user_id=work.user_id,
        job_id=work.id,
        progress=progress,
    )


def init_app(app: Flask) -> None:
    """Import jobs run :func:`run_import` on the job's file."""
    jobs.register_handler(app, jobs.JobKind.IMPORT, _import_job)


__all__ = [
    "ExternalKey",
    "ImportInvalid",
    "ImportKind",
    "apply",
    "init_app",
    "parse",
    "run_import",
]
