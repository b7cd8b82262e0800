"""The stored index version: bumped in the same transaction as any change to matchable text."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matchmaker.matching.models import IndexState

#: Set in a session's ``info`` when its transaction changed the index version.
BUMPED = "matchmaker.index_bumped"


def bump(session: Session) -> None:
    """Mark the searchable index as changed; every worker reloads within seconds, this one on
    its next request after the commit (see :func:`matchmaker.matching.engine.init_app`)."""
    session.info[BUMPED] = True
    result = session.execute(
        update(IndexState).where(IndexState.id == 1).values(version=IndexState.version + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(IndexState(id=1, version=1))


def current(session: Session) -> int:
    """The stored index version (0 when nothing was ever indexed)."""
    return session.scalar(select(IndexState.version).where(IndexState.id == 1)) or 0
