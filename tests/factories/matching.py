"""Proposals as a matching run stores them, made through the ORM."""

from __future__ import annotations

from typing import Any

from flask import Flask

from matchmaker.db import session_scope
from matchmaker.matching.models import Proposal, ProposalStatus
from tests.factories.groups import research_group


def build_proposal(
    *, challenge_id: int, group_id: int, status: ProposalStatus | str = "proposed", **overrides: Any
) -> Proposal:
    """An unsaved proposal of ``group_id`` for ``challenge_id`` (proposed, score 0.5, no score
    parts and no evidence unless overridden); for tests that add it to their own session."""
    values: dict[str, Any] = {
        "score": 0.5,
        "components": {},
        "evidence": {},
        "strategy_version": 1,
    }
    values.update(overrides)
    return Proposal(
        challenge_id=challenge_id, group_id=group_id, status=ProposalStatus(status), **values
    )


def proposal(
    app: Flask, *, challenge_id: int, group_id: int | None = None, **overrides: Any
) -> int:
    """Create a proposal (see ``build_proposal``) and return its id; without ``group_id`` a new
    group is made for it."""
    if group_id is None:
        group_id = research_group(app)
    with session_scope(app) as s:
        p = build_proposal(challenge_id=challenge_id, group_id=group_id, **overrides)
        s.add(p)
        s.flush()
        return p.id
