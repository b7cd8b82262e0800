"""Writing an import's rows: create or update each record in the caller's transaction.

Rows carry an external ``key`` (the source system's id): importing a file again updates the
records it created instead of duplicating them, so a rerun gives the same result. Each kind of
file has its writer (:func:`write_groups`, :func:`write_challenges`, :func:`write_publications`);
:func:`apply` runs the one for the file and records the keys of the new records.

A row's ``language`` (``de``, ``en`` or ``other``) is stored as set by its owner; a row without one
gets the language detected from its text, detected again when a re-import changes the text
(:mod:`matchmaker.languages`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker import languages
from matchmaker.challenges.models import Challenge
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.groups.schemas import PublicationIn
from matchmaker.imports.models import ExternalKey
from matchmaker.imports.schemas import ENTITY, ImportInvalid, ImportKind, Row
from matchmaker.organisations.models import Organisation, OrganisationKind

_IN_CHUNK = 500


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
    values = {
        "title": p.title,
        "abstract": p.abstract or "",
        "year": p.year,
        "doi": p.doi or "",
        "authors": list(p.authors),
    }
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


@dataclass
class Batch:
    """What the writer of one file gathers: the keys it knows, its counts, errors, new records."""

    known: dict[str, ExternalKey]
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "organisations_created": 0,
        }
    )
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: ``(key, record)`` of each record created, whose external key is written after the flush.
    new: list[tuple[str, Any]] = field(default_factory=list)

    def existing_ids(self) -> list[int]:
        return [k.entity_id for k in self.known.values()]

    def stored(self, row: Row, existing: dict[int, Any]) -> Any:
        """The record ``row``'s key names (None: a new one, or the one it named is gone)."""
        ek = self.known.get(row.key)
        return existing.get(ek.entity_id) if ek else None

    def add(self, session: Session, row: Row, record: Any) -> None:
        """Add the new record of ``row``; its external key is written after the flush."""
        session.add(record)
        self.new.append((row.key, record))

    def count_update(self, changed: bool) -> None:
        self.counts["updated" if changed else "unchanged"] += 1


def _set_owner(entity: Any, relation: str, owner: Organisation) -> bool:
    """Move ``entity`` to ``owner`` (its ``relation``: institution or organisation) if it
    belongs to another; whether it moved."""
    if getattr(entity, f"{relation}_id") == owner.id:
        return False
    setattr(entity, relation, owner)
    return True


def write_groups(session: Session, rows: Sequence[Row], batch: Batch, user_id: int | None) -> None:
    """Create or update research groups (with their publications) and their institutions."""
    orgs, batch.counts["organisations_created"] = _organisations(
        session, rows, OrganisationKind.INSTITUTION, batch.errors
    )
    existing = _entities(
        session, ResearchGroup, batch.existing_ids(), selectinload(ResearchGroup.publications)
    )
    for row in rows:
        d = row.data
        values = _blank(
            d.model_dump(exclude={"institution_id", "publications"}), "head", "methods", "contact"
        )
        pubs = [_publication_values(p) for p in d.publications]
        group = batch.stored(row, existing)
        if group is None:
            values["language"], values["language_confirmed"] = languages.for_new(
                d.language, d.name, d.capabilities
            )
            group = ResearchGroup(institution=orgs[row.owner], **values)
            group.publications = [_new_publication(p) for p in pubs]
            batch.add(session, row, group)
            continue
        changed = _set_with_language(group, values, ("name", "capabilities"), d.language)
        changed |= _set_owner(group, "institution", orgs[row.owner])
        if not _same_publications(group.publications, pubs):
            group.publications = [_new_publication(p) for p in pubs]
            changed = True
        batch.count_update(changed)


def write_challenges(
    session: Session, rows: Sequence[Row], batch: Batch, user_id: int | None
) -> None:
    """Create or update challenges and their companies; a new one is authored by ``user_id``."""
    orgs, batch.counts["organisations_created"] = _organisations(
        session, rows, OrganisationKind.COMPANY, batch.errors
    )
    existing = _entities(session, Challenge, batch.existing_ids())
    for row in rows:
        d = row.data
        values = _blank(d.model_dump(exclude={"organisation_id"}), "confidential")
        challenge = batch.stored(row, existing)
        if challenge is None:
            values["language"], values["language_confirmed"] = languages.for_new(
                d.language, d.title, d.summary
            )
            challenge = Challenge(organisation=orgs[row.owner], created_by_id=user_id, **values)
            batch.add(session, row, challenge)
            continue
        changed = _set_with_language(challenge, values, ("title", "summary"), d.language)
        changed |= _set_owner(challenge, "organisation", orgs[row.owner])
        batch.count_update(changed)


def write_publications(
    session: Session, rows: Sequence[Row], batch: Batch, user_id: int | None
) -> None:
    """Create or update publications of groups imported before (named by their keys)."""
    group_keys = _known_keys(session, "group", list(dict.fromkeys(r.owner for r in rows)))
    groups = _entities(session, ResearchGroup, [k.entity_id for k in group_keys.values()])
    existing = _entities(session, Publication, batch.existing_ids())
    for row in rows:
        gk = group_keys.get(row.owner)
        if gk is None or gk.entity_id not in groups:
            batch.errors.append(
                {"line": row.line, "field": "group", "message": f"no group has key {row.owner!r}"}
            )
            continue
        values = {"group_id": gk.entity_id, **_publication_values(row.data)}
        pub = batch.stored(row, existing)
        if pub is None:
            batch.add(session, row, _new_publication(values))
            continue
        changed = _set_with_language(pub, values, ("title", "abstract"), row.data.language)
        batch.count_update(changed)


Writer = Callable[[Session, Sequence[Row], Batch, int | None], None]
WRITERS: dict[ImportKind, Writer] = {
    ImportKind.GROUPS: write_groups,
    ImportKind.CHALLENGES: write_challenges,
    ImportKind.PUBLICATIONS: write_publications,
}


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

    entity = ENTITY[kind]
    batch = Batch(known=_known_keys(session, entity, [r.key for r in rows]))
    WRITERS[kind](session, rows, batch, user_id)
    if batch.errors:
        raise ImportInvalid(batch.errors)
    session.flush()
    for key, obj in batch.new:
        ek = batch.known.get(key)
        if ek is not None:  # the record it named is gone: the key now names the new one
            ek.entity_id = obj.id
        else:
            session.add(ExternalKey(kind=entity, key=key, entity_id=obj.id))
    counts = batch.counts
    counts["created"] = len(batch.new)
    if counts["created"] or counts["updated"]:
        index_state.bump(session)
    record(session, user_id, "import", job_id, "create", {"kind": kind.value, **counts})
    session.flush()
    return counts
