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


@endpoint(
    bp,
    "",
    summary="List the challenges you may read",
    query=ChallengeQuery,
    response=Page[ChallengeOut],
)
def list_challenges(query: ChallengeQuery) -> dict[str, Any]:
    session = get_session()
    rows, total = service.list_challenges(session, g.user, query)
    return page_of([service.to_out(session, g.user, c) for c in rows], query, total)


@endpoint(
    bp,
    "",
    "POST",
    summary="Post a challenge",
    roles=COMPANY_ROLES,
    body=ChallengeIn,
    response=ChallengeOut,
    status=201,
)
def create_challenge(body: ChallengeIn) -> dict[str, Any]:
    session = get_session()
    challenge = service.create_challenge(session, g.user, body)
    session.commit()
    return service.to_out(session, g.user, challenge)


@endpoint(bp, "/<int:challenge_id>", summary="Read a challenge", response=ChallengeOut)
def get_challenge(challenge_id: int) -> dict[str, Any]:
    session = get_session()
    return service.to_out(session, g.user, service.get_visible(session, g.user, challenge_id))


@endpoint(
    bp,
    "/<int:challenge_id>",
    "PATCH",
    summary="Change a challenge",
    roles=COMPANY_ROLES,
    body=ChallengePatch,
    response=ChallengeOut,
)
def update_challenge(challenge_id: int, body: ChallengePatch) -> dict[str, Any]:
    session = get_session()
    challenge = service.get_visible(session, g.user, challenge_id)
    service.update_challenge(session, g.user, challenge, body)
    session.commit()
    return service.to_out(session, g.user, challenge)


@endpoint(
    bp,
    "/<int:challenge_id>",
    "DELETE",
    summary="Archive a challenge",
    roles=COMPANY_ROLES,
    status=204,
)
def archive_challenge(challenge_id: int) -> Response:
    session = get_session()
    service.archive_challenge(session, g.user, service.get_visible(session, g.user, challenge_id))
    session.commit()
    return Response(status=204)
