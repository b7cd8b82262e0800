"""Organisation use cases. Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import OFFICE_ROLES, Role, User
from matchmaker.audit.service import record
from matchmaker.crud import apply_patch, archive, filtered_page
from matchmaker.errors import Conflict, Forbidden, Invalid, NotFound
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.organisations.schemas import OrganisationIn, OrganisationPatch, OrganisationQuery


def to_out(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind.value,
        "city": org.city,
        "website": org.website,
        "archived": org.archived_at is not None,
        "created_at": org.created_at.isoformat(),
    }


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"Organisation {organisation_id}")
    return org


def _name_taken(session: Session, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Organisation.id).where(Organisation.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Organisation.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(
            "organisation_name_taken",
            "already exists",
            field="name",
            detail=f"name: an organisation named {name!r} exists already",
        )


def list_organisations(
    session: Session, query: OrganisationQuery
) -> tuple[list[Organisation], int]:
    stmt = select(Organisation)
    if query.kind is not None:
        stmt = stmt.where(Organisation.kind == query.kind)
    columns = (Organisation.name, Organisation.city)
    return filtered_page(session, stmt, Organisation, query, columns, Organisation.name)


def create_organisation(session: Session, user: User, data: OrganisationIn) -> Organisation:
    _name_taken(session, data.name)
    org = Organisation(name=data.name, kind=data.kind, city=data.city, website=data.website or "")
    session.add(org)
    session.flush()
    record(session, user.id, "organisation", org.id, "create", {"name": org.name})
    return org


def update_organisation(
    session: Session, user: User, org: Organisation, patch: OrganisationPatch
) -> Organisation:
    if patch.name is not None:
        _name_taken(session, patch.name, exclude_id=org.id)
    changes = apply_patch(org, patch, blank=frozenset({"website"}))
    if changes:
        record(session, user.id, "organisation", org.id, "update", changes)
    return org


def archive_organisation(session: Session, user: User, org: Organisation) -> None:
    archive(session, user.id, "organisation", org)


def owning_organisation(
    session: Session,
    user: User,
    organisation_id: int | None,
    *,
    role: Role,
    kind: OrganisationKind,
    field: str,
    messages: tuple[str, str, str, str, str],
) -> Organisation:
    """The organisation a new object of ``user`` belongs to: a ``role`` user's own (naming
    another is refused), or the one the office names; it must be live and of ``kind``.
    ``messages``: naming another, the office naming none, a user of another role, no such
    organisation, one of the wrong kind."""
    other, unnamed, not_allowed, missing, wrong_kind = messages
    if user.role == role:
        if organisation_id is not None and organisation_id != user.organisation_id:
            raise Invalid(field, "organisation_not_own", other)
        org = user.organisation
    elif user.role in OFFICE_ROLES:
        if organisation_id is None:
            raise Invalid(field, "organisation_not_named", unnamed)
        org = session.get(Organisation, organisation_id)
    else:
        raise Forbidden(not_allowed)
    if org is None or org.archived_at is not None:
        raise Invalid(field, "organisation_unknown", missing)
    if org.kind != kind:
        raise Invalid(field, "organisation_wrong_kind", wrong_kind)
    return org
