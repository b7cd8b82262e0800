"""Recording audit events (in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from matchmaker.audit.models import AuditEvent


def record(
    session: Session,
    actor_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it is written with the change it describes."""
    event = AuditEvent(
        actor_id=actor_id, entity=entity, entity_id=entity_id, action=action, changes=changes or {}
    )
    session.add(event)
    return event
