"""Organisation use cases. Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.api.problems import Problem, not_found
from matchmaker.audit.service import record
from matchmaker.crud import apply_patch, filtered_page
from matchmaker.db import utcnow
from matchmaker.organisations.models import Organisation
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
        raise not_found(f"Organisation {organisation_id}")
    return org


def _name_taken(session: Session, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Organisation.id).where(Organisation.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Organisation.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Problem(
            409,
            "Conflict",
            f"name: an organisation named {name!r} exists already",
            errors=[{"field": "name", "message": "already exists"}],
            code="conflict",
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
    if org.archived_at is None:
        org.archived_at = utcnow()
        record(session, user.id, "organisation", org.id, "archive")
