"""JSON API of organisations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from matchmaker.accounts.models import OFFICE_ROLES
from matchmaker.api.spec import endpoint
from matchmaker.db import get_session
from matchmaker.organisations import service
from matchmaker.organisations.schemas import (
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    OrganisationQuery,
)
from matchmaker.schemas import Page, page_of

bp = Blueprint("organisations", __name__, url_prefix="/api/v1/organisations")


@endpoint(bp, "", query=OrganisationQuery, response=Page[OrganisationOut])
def list_organisations(query: OrganisationQuery) -> dict[str, Any]:
    """List organisations."""
    rows, total = service.list_organisations(get_session(), query)
    return page_of([service.to_out(o) for o in rows], query, total)


@endpoint(
    bp, "", "POST", roles=OFFICE_ROLES, body=OrganisationIn, response=OrganisationOut, status=201
)
def create_organisation(body: OrganisationIn) -> dict[str, Any]:
    """Add an organisation."""
    session = get_session()
    org = service.create_organisation(session, g.user, body)
    return service.to_out(org)


@endpoint(bp, "/<int:organisation_id>", response=OrganisationOut)
def get_organisation(organisation_id: int) -> dict[str, Any]:
    """Read an organisation."""
    return service.to_out(service.get_organisation(get_session(), organisation_id))


@endpoint(
    bp,
    "/<int:organisation_id>",
    "PATCH",
    roles=OFFICE_ROLES,
    body=OrganisationPatch,
    response=OrganisationOut,
)
def update_organisation(organisation_id: int, body: OrganisationPatch) -> dict[str, Any]:
    """Change an organisation."""
    session = get_session()
    org = service.update_organisation(
        session, g.user, service.get_organisation(session, organisation_id), body
    )
    return service.to_out(org)


@endpoint(bp, "/<int:organisation_id>", "DELETE", roles=OFFICE_ROLES, status=204)
def archive_organisation(organisation_id: int) -> Response:
    """Archive an organisation."""
    session = get_session()
    service.archive_organisation(
        session, g.user, service.get_organisation(session, organisation_id)
    )
    return Response(status=204)
