"""JSON API of learning: stated interest, the scorer setting, explanations of proposals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from matchmaker.accounts.models import OFFICE_ROLES
from matchmaker.api.spec import current_settings, endpoint
from matchmaker.challenges import service as challenges
from matchmaker.db import get_session
from matchmaker.errors import Forbidden
from matchmaker.groups import service as groups
from matchmaker.learning import service
from matchmaker.learning.schemas import (
    CompanyInterestIn,
    ExplanationOut,
    GroupInterestIn,
    InterestOut,
    ScorerIn,
    ScorerOut,
)
from matchmaker.review import service as review

bp = Blueprint("learning", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/challenges/<int:challenge_id>/interest",
    "PUT",
    roles=("group",),
    body=GroupInterestIn,
    response=InterestOut,
)
def group_interest(challenge_id: int, body: GroupInterestIn) -> dict[str, Any]:
    """A group marks a challenge "interested" or "not for us" (with a reason)."""
    session = get_session()
    if g.user.group_id is None:
        raise Forbidden("Your account is not linked to a research group.")
    challenge = challenges.get_visible(session, g.user, challenge_id)
    group = groups.get_group(session, g.user.group_id, include_archived=False)
    return service.state_group_interest(session, g.user, challenge, group, body.value, body.reason)


@endpoint(
    bp,
    "/groups/<int:group_id>/interest",
    "PUT",
    roles=("company",),
    body=CompanyInterestIn,
    response=InterestOut,
)
def company_interest(group_id: int, body: CompanyInterestIn) -> dict[str, Any]:
    """A company marks a group it would like to meet for one of its challenges."""
    session = get_session()
    group = groups.get_group(session, group_id, include_archived=False)
    challenge = challenges.get_visible(session, g.user, body.challenge_id)
    if not challenges.may_edit(g.user, challenge):
        raise Forbidden("A company states interest for its own challenges only.")
    return service.state_company_interest(
        session, g.user, challenge, group, body.value, body.reason
    )


@endpoint(bp, "/scorer", roles=OFFICE_ROLES, response=ScorerOut)
def get_scorer() -> dict[str, Any]:
    """Which scorer ranks proposals: the formula or the learned re-ranker."""
    return service.scorer_status(get_session(), current_settings())


@endpoint(bp, "/scorer", "PUT", roles=OFFICE_ROLES, body=ScorerIn, response=ScorerOut)
def put_scorer(body: ScorerIn) -> dict[str, Any]:
    """Switch scorers (the learned one only when it beats the formula)."""
    session = get_session()
    return service.set_scorer(session, g.user, body.scorer, current_settings())


@endpoint(
    bp, "/proposals/<int:proposal_id>/explanation", roles=OFFICE_ROLES, response=ExplanationOut
)
def proposal_explanation(proposal_id: int) -> dict[str, Any]:
    """A proposal's score taken apart: formula, stated interest, learned model."""
    proposal = review.get_visible(get_session(), g.user, proposal_id)
    return service.explanation(proposal)
