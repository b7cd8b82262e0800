"""The strategy: versioned weights per field of action. Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.audit.service import record
from matchmaker.fields import FIELD_KEYS
from matchmaker.strategy.models import StrategyVersion

DEFAULT_WEIGHTS: dict[str, float] = dict.fromkeys(FIELD_KEYS, 1.0)


def current(session: Session) -> StrategyVersion:
    """The newest strategy version; version 1 (all weights 1.0) is created if none exists."""
    latest = session.scalar(
        select(StrategyVersion).order_by(StrategyVersion.version.desc()).limit(1)
    )
    if latest is None:
        latest = StrategyVersion(
            version=1, weights=dict(DEFAULT_WEIGHTS), note="Initial: all fields equal"
        )
        session.add(latest)
        session.flush()
    return latest


def history(session: Session) -> list[StrategyVersion]:
    return list(session.scalars(select(StrategyVersion).order_by(StrategyVersion.version.desc())))


def set_weights(
    session: Session, user: User, weights: dict[str, float], note: str = ""
) -> StrategyVersion:
    """Save a new version; fields not named keep their current weight."""
    base = current(session)
    merged = {**DEFAULT_WEIGHTS, **base.weights, **weights}
    version = StrategyVersion(
        version=base.version + 1, weights=merged, note=note, created_by_id=user.id
    )
    session.add(version)
    session.flush()
    record(
        session,
        user.id,
        "strategy",
        version.id,
        "update",
        {"version": version.version, "weights": merged, "previous": base.weights, "note": note},
    )
    return version


def to_out(version: StrategyVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "weights": version.weights,
        "note": version.note,
        "created_at": version.created_at.isoformat(),
    }
