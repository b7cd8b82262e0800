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


@endpoint(bp, "", summary="The current strategy weights", response=StrategyOut)
def get_strategy() -> dict[str, Any]:
    session = get_session()
    version = service.current(session)
    session.commit()  # the initial version, if it was just created
    return service.to_out(version)


@endpoint(
    bp,
    "",
    "PUT",
    summary="Save new strategy weights (a new version)",
    roles=OFFICE_ROLES,
    body=StrategyIn,
    response=StrategyOut,
)
def put_strategy(body: StrategyIn) -> dict[str, Any]:
    session = get_session()
    version = service.set_weights(session, g.user, body.weights, body.note)
    session.commit()
    return service.to_out(version)


@endpoint(
    bp, "/versions", summary="Every version of the strategy, newest first", response=StrategyHistory
)
def strategy_history() -> dict[str, Any]:
    session = get_session()
    service.current(session)
    session.commit()
    return {"items": [service.to_out(v) for v in service.history(session)]}
