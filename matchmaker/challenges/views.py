"""JSON API of challenges: thin views over the service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from matchmaker.accounts.models import COMPANY_ROLES
from matchmaker.api.spec import endpoint
from matchmaker.challenges import service
from matchmaker.challenges.schemas import ChallengeIn, ChallengeOut, ChallengePatch, ChallengeQuery
from matchmaker.db import get_session
from matchmaker.schemas import Page, page_of

bp = Blueprint("challenges", __name__, url_prefix="/api/v1/challenges")


@endpoint(bp, "", query=ChallengeQuery, response=Page[ChallengeOut])
def list_challenges(query: ChallengeQuery) -> dict[str, Any]:
    """List the challenges you may read."""
    session = get_session()
    rows, total = service.list_challenges(session, g.user, query)
    return page_of([service.to_out(session, g.user, c) for c in rows], query, total)


@endpoint(bp, "", "POST", roles=COMPANY_ROLES, body=ChallengeIn, response=ChallengeOut, status=201)
def create_challenge(body: ChallengeIn) -> dict[str, Any]:
    """Post a challenge."""
    session = get_session()
    challenge = service.create_challenge(session, g.user, body)
    return service.to_out(session, g.user, challenge)


@endpoint(bp, "/<int:challenge_id>", response=ChallengeOut)
def get_challenge(challenge_id: int) -> dict[str, Any]:
    """Read a challenge."""
    session = get_session()
    return service.to_out(session, g.user, service.get_visible(session, g.user, challenge_id))


@endpoint(
    bp,
    "/<int:challenge_id>",
    "PATCH",
    roles=COMPANY_ROLES,
    body=ChallengePatch,
    response=ChallengeOut,
)
def update_challenge(challenge_id: int, body: ChallengePatch) -> dict[str, Any]:
    """Change a challenge."""
    session = get_session()
    challenge = service.get_visible(session, g.user, challenge_id)
    service.update_challenge(session, g.user, challenge, body)
    session.flush()  # updated_at is set at flush
    return service.to_out(session, g.user, challenge)


@endpoint(bp, "/<int:challenge_id>", "DELETE", roles=COMPANY_ROLES, status=204)
def archive_challenge(challenge_id: int) -> Response:
    """Archive a challenge."""
    session = get_session()
    service.archive_challenge(session, g.user, service.get_visible(session, g.user, challenge_id))
    return Response(status=204)
