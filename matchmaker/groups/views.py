"""JSON API of research groups and their publications."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from matchmaker.accounts.models import GROUP_ROLES
from matchmaker.api.spec import endpoint
from matchmaker.db import get_session
from matchmaker.groups import service
from matchmaker.groups.schemas import (
    GroupIn,
    GroupOut,
    GroupPatch,
    GroupQuery,
    PublicationIn,
    PublicationOut,
    PublicationPatch,
)
from matchmaker.schemas import Page, page_of

bp = Blueprint("groups", __name__, url_prefix="/api/v1/groups")


@endpoint(bp, "", query=GroupQuery, response=Page[GroupOut])
def list_groups(query: GroupQuery) -> dict[str, Any]:
    """List research groups."""
    rows, total = service.list_groups(get_session(), query)
    return page_of([service.to_out(g.user, r) for r in rows], query, total)


@endpoint(bp, "", "POST", roles=GROUP_ROLES, body=GroupIn, response=GroupOut, status=201)
def create_group(body: GroupIn) -> dict[str, Any]:
    """Register a research group."""
    session = get_session()
    group = service.create_group(session, g.user, body)
    return service.to_out(g.user, group)


@endpoint(bp, "/<int:group_id>", response=GroupOut)
def get_group(group_id: int) -> dict[str, Any]:
    """Read a research group's profile."""
    return service.to_out(g.user, service.get_group(get_session(), group_id))


@endpoint(bp, "/<int:group_id>", "PATCH", roles=GROUP_ROLES, body=GroupPatch, response=GroupOut)
def update_group(group_id: int, body: GroupPatch) -> dict[str, Any]:
    """Change a group's profile."""
    session = get_session()
    group = service.update_group(session, g.user, service.get_group(session, group_id), body)
    session.flush()  # updated_at is set at flush
    return service.to_out(g.user, group)


@endpoint(bp, "/<int:group_id>", "DELETE", roles=GROUP_ROLES, status=204)
def archive_group(group_id: int) -> Response:
    """Archive a group."""
    session = get_session()
    service.archive_group(session, g.user, service.get_group(session, group_id))
    return Response(status=204)


@endpoint(bp, "/<int:group_id>/publications", response=Page[PublicationOut])
def list_publications(group_id: int) -> dict[str, Any]:
    """List a group's publications."""
    group = service.get_group(get_session(), group_id)
    items = [service.publication_out(p) for p in group.publications]
    return {"items": items, "page": 1, "per_page": max(len(items), 1), "total": len(items)}


@endpoint(
    bp,
    "/<int:group_id>/publications",
    "POST",
    roles=GROUP_ROLES,
    body=PublicationIn,
    response=PublicationOut,
    status=201,
)
def add_publication(group_id: int, body: PublicationIn) -> dict[str, Any]:
    """Add a publication."""
    session = get_session()
    pub = service.add_publication(session, g.user, service.get_group(session, group_id), body)
    return service.publication_out(pub)


@endpoint(bp, "/<int:group_id>/publications/<int:publication_id>", response=PublicationOut)
def get_publication(group_id: int, publication_id: int) -> dict[str, Any]:
    """Read a publication."""
    group = service.get_group(get_session(), group_id)
    return service.publication_out(service.get_publication(group, publication_id))


@endpoint(
    bp,
    "/<int:group_id>/publications/<int:publication_id>",
    "PATCH",
    roles=GROUP_ROLES,
    body=PublicationPatch,
    response=PublicationOut,
)
def update_publication(
    group_id: int, publication_id: int, body: PublicationPatch
) -> dict[str, Any]:
    """Change a publication."""
    session = get_session()
    group = service.get_group(session, group_id)
    pub = service.update_publication(
        session, g.user, group, service.get_publication(group, publication_id), body
    )
    return service.publication_out(pub)


@endpoint(
    bp, "/<int:group_id>/publications/<int:publication_id>", "DELETE", roles=GROUP_ROLES, status=204
)
def delete_publication(group_id: int, publication_id: int) -> Response:
    """Remove a publication."""
    session = get_session()
    group = service.get_group(session, group_id)
    service.delete_publication(
        session, g.user, group, service.get_publication(group, publication_id)
    )
    return Response(status=204)
