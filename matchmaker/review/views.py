"""JSON API of proposals, decisions and exclusions."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, current_app, g

from matchmaker import mail
from matchmaker.accounts.models import OFFICE_ROLES, Role
from matchmaker.api.spec import endpoint
from matchmaker.db import after_commit, get_session
from matchmaker.review import service
from matchmaker.review.schemas import (
    DecisionIn,
    DecisionList,
    DecisionView,
    ExclusionIn,
    ExclusionOut,
    ProposalQuery,
    ProposalView,
)
from matchmaker.schemas import Page

bp = Blueprint("review", __name__, url_prefix="/api/v1")


@endpoint(bp, "/proposals", query=ProposalQuery, response=Page[ProposalView])
def list_proposals(query: ProposalQuery) -> dict[str, Any]:
    """The review queue: proposals, best first (in full for the office; the introduced company and
    group see each one's status and status history)."""
    session = get_session()
    rows, total = service.query_proposals(session, g.user, query)
    return {
        "items": service.proposals_for(session, g.user, rows),
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
    }


@endpoint(bp, "/proposals/<int:proposal_id>", response=ProposalView)
def get_proposal(proposal_id: int) -> dict[str, Any]:
    """A proposal: with its score parts and evidence for the office; the introduced company and
    group see its status and status history.

    One proposal; for the office its evidence pairs also name their closest sentence pair."""
    from matchmaker.matching.engine import get_matcher
    from matchmaker.matching.evidence import with_sentences

    session = get_session()
    proposal = service.get_visible(session, g.user, proposal_id)
    (out,) = service.proposals_for(session, g.user, [proposal])
    if service.is_office(g.user):
        out["evidence"] = with_sentences(get_matcher(), out["evidence"])
    return out


@endpoint(bp, "/proposals/<int:proposal_id>/decisions", response=DecisionList)
def list_decisions(proposal_id: int) -> dict[str, Any]:
    """The decisions taken on a proposal (in full for the office; the introduced company and group
    see its status history)."""
    session = get_session()
    proposal = service.get_visible(session, g.user, proposal_id)
    return {"items": service.decisions_out(g.user, service.list_decisions(session, proposal))}


@endpoint(
    bp,
    "/proposals/<int:proposal_id>/decisions",
    "POST",
    roles=(*OFFICE_ROLES, Role.COMPANY, Role.GROUP),
    body=DecisionIn,
    response=DecisionView,
    status=201,
)
def decide(proposal_id: int, body: DecisionIn) -> dict[str, Any]:
    """Decide: move a proposal through the pipeline with a reason code. The office takes any step;
    the introduced company and group report theirs: from introduced to in_talks, from in_talks to
    collaboration, or declined (with a reason, without a note)."""
    session = get_session()
    proposal = service.get_decidable(session, g.user, proposal_id)
    settings = current_app.extensions["matchmaker.settings"]
    decision, mails = service.decide(
        session,
        g.user,
        proposal,
        body.to_status,
        body.reason_code,
        body.note,
        public_url=settings.public_url,
    )
    after_commit(functools.partial(_send_introductions, settings, mails))
    (out,) = service.decisions_out(g.user, [decision])
    return out


def _send_introductions(settings: Any, mails: list[Any]) -> None:
    """Once the decision is committed: its e-mails (one that fails is logged, not retried)."""
    for message in mails:
        try:
            mail.send(settings, message)
        except OSError:
            current_app.logger.exception("introduction e-mail to %s failed", message.to)


@endpoint(
    bp,
    "/exclusions",
    "POST",
    roles=OFFICE_ROLES,
    body=ExclusionIn,
    response=ExclusionOut,
    status=201,
)
def create_exclusion(body: ExclusionIn) -> dict[str, Any]:
    """Exclude a pair from matching (a conflict)."""
    session = get_session()
    ex = service.exclude(session, g.user, body.challenge_id, body.group_id, body.reason)
    return {
        "id": ex.id,
        "challenge_id": ex.challenge_id,
        "group_id": ex.group_id,
        "reason": ex.reason,
    }
