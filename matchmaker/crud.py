"""Small helpers every domain service shares: pagination, text search, applying patches,
archiving."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from matchmaker.audit.service import record
from matchmaker.db import utcnow
from matchmaker.errors import Invalid
from matchmaker.schemas import PageQuery


def paginate(session: Session, stmt: Select[Any], query: PageQuery) -> tuple[list[Any], int]:
    """One page of ``stmt``'s rows and the total count."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(query.per_page).offset((query.page - 1) * query.per_page))
    return list(rows), total


def text_filter(q: str, *columns: InstrumentedAttribute[Any]) -> Any:
    """A case-insensitive "every word appears in one of the columns" condition."""
    conditions = []
    for word in q.split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(or_(*(col.ilike(f"%{escaped}%", escape="\\") for col in columns)))
    from sqlalchemy import and_

    return and_(*conditions)


def filtered_page(
    session: Session,
    stmt: Select[Any],
    model: Any,
    query: Any,
    text_columns: tuple[InstrumentedAttribute[Any], ...],
    order_by: Any = None,
) -> tuple[list[Any], int]:
    """One page of ``stmt`` narrowed by a list query's common members: ``archived`` (archived
    rows instead of live ones), ``q`` (every word in one of ``text_columns``) and, where the
    query has it, ``field`` (any of these fields of action); ordered by ``order_by`` (the id)."""
    archived = model.archived_at
    stmt = stmt.where(archived.is_not(None) if query.archived else archived.is_(None))
    if query.q:
        stmt = stmt.where(text_filter(query.q, *text_columns))
    stmt = stmt.order_by(model.id if order_by is None else order_by)
    wanted = set(getattr(query, "field", None) or ())
    if wanted:
        # Fields live in a JSON list: filter in Python over the narrowed set, then paginate.
        ids = [row.id for row in session.scalars(stmt) if set(row.fields) & wanted]
        stmt = stmt.where(model.id.in_(ids))
    return paginate(session, stmt, query)


def apply_patch(
    obj: Any,
    patch: BaseModel,
    *,
    nullable: frozenset[str] = frozenset(),
    blank: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Copy the members a client sent onto ``obj``; return ``{field: [old, new]}`` of changes.

    A member sent as ``null`` clears a ``nullable`` column, empties a ``blank`` text column, and is
    an error anywhere else.
    """
    changes: dict[str, Any] = {}
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if value is None:
            if name in nullable:
                pass
            elif name in blank:
                value = ""
            else:
                raise Invalid(name, "not_nullable", "must not be null")
        old = getattr(obj, name)
        if old != value:
            setattr(obj, name, value)
            changes[name] = [_plain(old), _plain(value)]
    return changes


def archive(session: Session, user_id: int | None, entity: str, row: Any) -> bool:
    """Archive (soft-delete) ``row``: it leaves the lists, its history stays; the audit log
    records it. False when it was archived already (nothing changes)."""
    if row.archived_at is not None:
        return False
    row.archived_at = utcnow()
    record(session, user_id, entity, row.id, "archive")
    return True


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
