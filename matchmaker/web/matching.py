"""The matching service as the pages call it: the app's matcher is passed in here, once."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.challenges.models import Challenge
from matchmaker.db import after_commit
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching import preview, runs, service, similar
from matchmaker.matching.engine import get_matcher
from matchmaker.matching.models import MatchingRun


def similar_challenges(
    session: Session, user: User, text: str, *, top: int = 5, exclude_id: int | None = None
) -> list[dict[str, Any]]:
    """Challenges ``user`` may see that read like ``text`` (see :mod:`matchmaker.matching.similar`)."""
    return similar.similar_challenges(
        session, get_matcher(), user, text, top=top, exclude_id=exclude_id
    )


def matches_for_group(
    session: Session, group: ResearchGroup, *, top: int = 10
) -> list[dict[str, Any]]:
    """Open challenges for a group, public summaries only, with score parts and evidence."""
    return service.matches_for_group(session, get_matcher(), group, top=top)


def group_matches(
    session: Session, group: ResearchGroup, *, top: int, offset: int = 0, q: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A page of the open challenges for a group (ranks ``offset + 1`` on) and how many there
    are, those whose title or summary has every word of ``q`` when given."""
    return service.group_matches(session, get_matcher(), group, top=top, offset=offset, q=q)


def matches_for_challenge(
    session: Session, challenge: Challenge, *, top: int = 10
) -> list[dict[str, Any]]:
    return service.matches_for_challenge(session, get_matcher(), challenge, top=top)


def strategy_changes(session: Session, weights: Mapping[str, float], *, k: int) -> dict[str, Any]:
    """Which groups would enter or leave each challenge's top ``k`` under ``weights``."""
    return preview.strategy_changes(session, get_matcher(), weights, k=k)


def start_run(session: Session, user: User, *, k: int, max_per_institution: int) -> MatchingRun:
    """Record a run, handed to a background job once the page's request committed it; the page
    then polls its progress."""
    from matchmaker.matching import background

    run = runs.create_run(session, user, k=k, max_per_institution=max_per_institution)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    after_commit(functools.partial(background.submit_matching_run, app, run.id))
    return run


def similar_to_challenge(
    session: Session, user: User, challenge: Challenge, *, top: int = 5
) -> list[dict[str, Any]] | None:
    """Other challenges that read like ``challenge`` (for the office: possible duplicates of any
    company); None when the ranker is not available, so the page still shows."""
    try:
        return similar_challenges(
            session,
            user,
            f"{challenge.title}\n{challenge.summary}",
            top=top,
            exclude_id=challenge.id,
        )
    except Exception:
        current_app.logger.exception("similar challenges of challenge %s failed", challenge.id)
        return None
