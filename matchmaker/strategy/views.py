"""JSON API of the strategy."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from matchmaker.api.problems import Problem
from matchmaker.api.spec import endpoint
from matchmaker.db import get_session
from matchmaker.fields import FIELD_KEYS
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
    roles=("office", "admin"),
    body=StrategyIn,
    response=StrategyOut,
)
def put_strategy(body: StrategyIn) -> dict[str, Any]:
    errors = []
    for key, value in body.weights.items():
        if key not in FIELD_KEYS:
            errors.append(
                {
                    "field": f"weights.{key}",
                    "message": f"unknown field of action; one of {', '.join(FIELD_KEYS)}",
                }
            )
        elif not 0.0 <= value <= 1.0:
            errors.append({"field": f"weights.{key}", "message": "must be between 0 and 1"})
    if not body.weights:
        errors.append({"field": "weights", "message": "name at least one field of action"})
    if errors:
        raise Problem(
            422,
            "Invalid request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors=errors,
            code="validation",
        )
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
