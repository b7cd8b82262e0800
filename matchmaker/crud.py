"""Small helpers every domain service shares: pagination, text search, applying patches."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from matchmaker.api.problems import field_error
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
                raise field_error(name, "must not be null")
        old = getattr(obj, name)
        if old != value:
            setattr(obj, name, value)
            changes[name] = [_plain(old), _plain(value)]
    return changes


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
