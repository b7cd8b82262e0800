"""Research group and publication use cases. Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload, selectinload

from matchmaker import languages
from matchmaker.accounts.models import OFFICE_ROLES, Role, User
from matchmaker.audit.service import record
from matchmaker.crud import apply_patch, archive, filtered_page
from matchmaker.errors import Conflict, Forbidden, Invalid, NotFound
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.groups.schemas import (
    GroupIn,
    GroupPatch,
    GroupQuery,
    PublicationIn,
    PublicationPatch,
)
from matchmaker.matching import index_state
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.organisations.service import owning_organisation

#: Members of a publication the ranker never reads: changing only these rebuilds no index.
UNMATCHED_PUBLICATION_MEMBERS = frozenset({"authors"})


def may_edit(user: User, group: ResearchGroup) -> bool:
    """The group's own users and the office edit a profile."""
    return user.role in OFFICE_ROLES or (user.role == Role.GROUP and user.group_id == group.id)


def get_group(session: Session, group_id: int, *, include_archived: bool = True) -> ResearchGroup:
    """A group by id (group profiles are readable by every signed-in user), or 404."""
    group = session.get(ResearchGroup, group_id)
    if group is None or (not include_archived and group.archived_at is not None):
        raise NotFound(f"Research group {group_id}")
    return group


def with_institutions(session: Session, *where: ColumnElement[bool]) -> dict[int, ResearchGroup]:
    """The groups that meet ``where``, by id, each with its institution loaded."""
    query = select(ResearchGroup).options(joinedload(ResearchGroup.institution)).where(*where)
    return {g.id: g for g in session.scalars(query)}


def publication_out(p: Publication) -> dict[str, Any]:
    return {
        "id": p.id,
        "group_id": p.group_id,
        "title": p.title,
        "abstract": p.abstract,
        "year": p.year,
        "doi": p.doi,
        "authors": list(p.authors),
        "language": p.language,
        "language_confirmed": p.language_confirmed,
    }


def to_out(user: User, group: ResearchGroup) -> dict[str, Any]:
    """The profile as ``user`` may see it: contact details for the group itself and the office."""
    return {
        "id": group.id,
        "institution_id": group.institution_id,
        "institution": group.institution.name,
        "name": group.name,
        "head": group.head,
        **group.offer(),
        "capacity": group.capacity,
        "contact": group.contact if may_edit(user, group) else None,
        "language": group.language,
        "language_confirmed": group.language_confirmed,
        "archived": group.archived_at is not None,
        "publications": [publication_out(p) for p in group.publications],
        "created_at": group.created_at.isoformat(),
        "updated_at": group.updated_at.isoformat(),
    }


def list_groups(session: Session, query: GroupQuery) -> tuple[list[ResearchGroup], int]:
    """A page of research groups, filtered."""
    stmt = select(ResearchGroup).options(selectinload(ResearchGroup.publications))
    if query.institution_id is not None:
        stmt = stmt.where(ResearchGroup.institution_id == query.institution_id)
    columns = (ResearchGroup.name, ResearchGroup.capabilities, ResearchGroup.methods)
    return filtered_page(session, stmt, ResearchGroup, query, columns)


def _institution_for(session: Session, user: User, institution_id: int | None) -> Organisation:
    if user.role == Role.GROUP and user.group_id is not None:
        raise Conflict(
            "group_profile_exists", "Your account has a group profile already; edit it instead."
        )
    return owning_organisation(
        session,
        user,
        institution_id,
        role=Role.GROUP,
        kind=OrganisationKind.INSTITUTION,
        field="institution_id",
        messages=(
            "a group registers at its own institution",
            "the office names the institution of a group",
            "Only research groups and the office register groups.",
            "no such institution",
            "research groups belong to research institutions",
        ),
    )


def create_group(session: Session, user: User, data: GroupIn) -> ResearchGroup:
    """Register a research group (a group user's own, or any for the office)."""
    org = _institution_for(session, user, data.institution_id)
    values = data.model_dump(exclude={"institution_id", "publications"})
    for key in ("head", "methods", "contact"):
        values[key] = values[key] or ""
    values["language"], values["language_confirmed"] = languages.for_new(
        data.language, data.name, data.capabilities
    )
    group = ResearchGroup(institution=org, **values)
    for pub in data.publications:
        group.publications.append(_new_publication(pub))
    session.add(group)
    session.flush()
    if user.role == Role.GROUP:
        user.group_id = group.id
    record(session, user.id, "group", group.id, "create", {"name": group.name})
    index_state.bump(session)
    return group


def update_group(
    session: Session, user: User, group: ResearchGroup, patch: GroupPatch
) -> ResearchGroup:
    """Change the members the client sent; the TRL range is checked on the result."""
    if not may_edit(user, group):
        raise Forbidden("Only the group itself and the office edit its profile.")
    changes = apply_patch(
        group, languages.without_language(patch), blank=frozenset({"head", "methods", "contact"})
    )
    if group.trl_max < group.trl_min:
        raise Invalid("trl_max", "trl_max_below_min", "must be at least trl_min")
    changes |= languages.update_from_patch(group, patch, changes, ("name", "capabilities"))
    if changes:
        record(session, user.id, "group", group.id, "update", changes)
        index_state.bump(session)
    return group


def archive_group(session: Session, user: User, group: ResearchGroup) -> None:
    """Archive a group: it leaves lists and matching."""
    if not may_edit(user, group):
        raise Forbidden("Only the group itself and the office archive its profile.")
    if archive(session, user.id, "group", group):
        index_state.bump(session)


def _new_publication(data: PublicationIn) -> Publication:
    language, confirmed = languages.for_new(data.language, data.title, data.abstract)
    return Publication(
        title=data.title,
        abstract=data.abstract or "",
        year=data.year,
        doi=data.doi or "",
        authors=list(data.authors),
        language=language,
        language_confirmed=confirmed,
    )


def add_publication(
    session: Session, user: User, group: ResearchGroup, data: PublicationIn
) -> Publication:
    """Add a publication to a group's profile."""
    if not may_edit(user, group):
        raise Forbidden("Only the group itself and the office edit its publications.")
    pub = _new_publication(data)
    group.publications.append(pub)
    session.flush()
    record(
        session,
        user.id,
        "publication",
        pub.id,
        "create",
        {"group_id": group.id, "title": pub.title},
    )
    index_state.bump(session)
    return pub


def get_publication(group: ResearchGroup, publication_id: int) -> Publication:
    for pub in group.publications:
        if pub.id == publication_id:
            return pub
    raise NotFound(f"Publication {publication_id} of group {group.id}")


def update_publication(
    session: Session, user: User, group: ResearchGroup, pub: Publication, patch: PublicationPatch
) -> Publication:
    """Change a publication; ``authors: null`` is an error (send ``[]`` to clear them)."""
    if not may_edit(user, group):
        raise Forbidden("Only the group itself and the office edit its publications.")
    changes = apply_patch(
        pub,
        languages.without_language(patch),
        nullable=frozenset({"year"}),
        blank=frozenset({"abstract", "doi"}),
    )
    changes |= languages.update_from_patch(pub, patch, changes, ("title", "abstract"))
    if changes:
        record(session, user.id, "publication", pub.id, "update", changes)
        if changes.keys() - UNMATCHED_PUBLICATION_MEMBERS:
            index_state.bump(session)
    return pub


def delete_publication(
    session: Session, user: User, group: ResearchGroup, pub: Publication
) -> None:
    """Remove a publication from a profile."""
    if not may_edit(user, group):
        raise Forbidden("Only the group itself and the office edit its publications.")
    group.publications.remove(pub)
    record(
        session,
        user.id,
        "publication",
        pub.id,
        "delete",
        {"group_id": group.id, "title": pub.title},
    )
    index_state.bump(session)
