"""JSON API of the strategy."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from matchmaker.accounts.models import OFFICE_ROLES
from matchmaker.api.spec import endpoint
from matchmaker.db import get_session
from matchmaker.strategy import service
from matchmaker.strategy.schemas import StrategyHistory, StrategyIn, StrategyOut

bp = Blueprint("strategy", __name__, url_prefix="/api/v1/strategy")


@endpoint(bp, "", response=StrategyOut)
def get_strategy() -> dict[str, Any]:
    """The current strategy weights."""
    session = get_session()
    version = service.current(session)
    return service.to_out(version)


@endpoint(bp, "", "PUT", roles=OFFICE_ROLES, body=StrategyIn, response=StrategyOut)
def put_strategy(body: StrategyIn) -> dict[str, Any]:
    """Save new strategy weights (a new version)."""
    session = get_session()
    version = service.set_weights(session, g.user, body.weights, body.note)
    return service.to_out(version)


@endpoint(bp, "/versions", response=StrategyHistory)
def strategy_history() -> dict[str, Any]:
    """Every version of the strategy, newest first."""
    session = get_session()
    service.current(session)
    return {"items": [service.to_out(v) for v in service.history(session)]}
