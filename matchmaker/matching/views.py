"""JSON API of matching: ranked matches with evidence, similar challenges, portfolio runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g

from matchmaker.accounts.models import COMPANY_ROLES, GROUP_ROLES, OFFICE_ROLES, Role
from matchmaker.api.idempotency import hand_to_job
from matchmaker.api.spec import endpoint
from matchmaker.challenges import service as challenges
from matchmaker.db import get_session
from matchmaker.errors import Forbidden, NotFound
from matchmaker.groups import service as groups
from matchmaker.matching import background, runs, service
from matchmaker.matching.engine import get_matcher
from matchmaker.matching.models import MatchingRun
from matchmaker.matching.schemas import (
    ChallengeMatches,
    GroupMatches,
    MatchQuery,
    RunIn,
    RunOut,
    SimilarChallenges,
    SimilarQuery,
)
from matchmaker.matching.similar import similar_challenges
from matchmaker.strategy import service as strategy

bp = Blueprint("matching", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/challenges/<int:challenge_id>/matches",
    roles=COMPANY_ROLES,
    query=MatchQuery,
    response=GroupMatches,
)
def challenge_matches(challenge_id: int, query: MatchQuery) -> dict[str, Any]:
    """Research groups for a challenge, with evidence."""
    session = get_session()
    challenge = challenges.get_visible(session, g.user, challenge_id)
    items = service.matches_for_challenge(session, get_matcher(), challenge, top=query.top)
    return {
        "challenge_id": challenge.id,
        "strategy_version": strategy.current(session).version,
        "items": items,
    }


@endpoint(
    bp,
    "/groups/<int:group_id>/matches",
    roles=GROUP_ROLES,
    query=MatchQuery,
    response=ChallengeMatches,
)
def group_matches(group_id: int, query: MatchQuery) -> dict[str, Any]:
    """Open challenges for a group (public summaries)."""
    session = get_session()
    group = groups.get_group(session, group_id, include_archived=False)
    if g.user.role == Role.GROUP and g.user.group_id != group.id:
        raise Forbidden("A group sees the matches of its own profile only.")
    items = service.matches_for_group(session, get_matcher(), group, top=query.top)
    return {
        "group_id": group.id,
        "strategy_version": strategy.current(session).version,
        "items": items,
    }


@endpoint(
    bp, "/challenges/similar", roles=COMPANY_ROLES, query=SimilarQuery, response=SimilarChallenges
)
def similar(query: SimilarQuery) -> dict[str, Any]:
    """Challenges already posted that read like a text.

    A company's own similar challenges; the office's: the open ones of every company."""
    items = similar_challenges(
        get_session(),
        get_matcher(),
        g.user,
        query.text,
        top=query.top,
        exclude_id=query.exclude_id,
    )
    return {"items": items}


@endpoint(bp, "/matching/runs", "POST", roles=OFFICE_ROLES, body=RunIn, response=RunOut, status=202)
def start_run(body: RunIn) -> Callable[[], dict[str, Any]]:
    """Run portfolio matching over all open challenges."""
    session = get_session()
    settings = current_app.extensions["matchmaker.settings"]
    run = runs.create_run(
        session,
        g.user,
        k=body.k or settings.proposals_per_challenge,
        max_per_institution=body.max_per_institution or settings.max_groups_per_institution,
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    start = functools.partial(background.submit_matching_run, app, run.id, wait=body.wait)
    return hand_to_job(session, run, start, runs.run_out, run_id=run.id)


@endpoint(bp, "/matching/runs/<int:run_id>", roles=OFFICE_ROLES, response=RunOut)
def get_run(run_id: int) -> dict[str, Any]:
    """A matching run's progress and outcome."""
    run = get_session().get(MatchingRun, run_id)
    if run is None:
        raise NotFound(f"Matching run {run_id}")
    return runs.run_out(run)
