"""The rows every database starts with: strategy version 1 (all fields of action weighted 1.0), so
reads never insert it, and the index-state row, so concurrent first writes only update it.

Revision ID: 0005
Revises: 0004
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ("energy_efficiency", "smart_grids", "smart_mobility", "smart_buildings", "sector_coupling", "ai_digitisation")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.scalar(sa.text("SELECT count(*) FROM strategy_versions")) == 0:
        table = sa.table(
            "strategy_versions",
            sa.column("version", sa.Integer),
            sa.column("weights", sa.JSON),
            sa.column("note", sa.String),
            sa.column("created_at", sa.DateTime()),
        )
        op.bulk_insert(table, [{"version": 1, "weights": dict.fromkeys(FIELDS, 1.0),
                                "note": "Initial: all fields equal",
                                "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}])
    if conn.scalar(sa.text("SELECT count(*) FROM index_state")) == 0:
        state = sa.table(
            "index_state",
            sa.column("id", sa.Integer),
            sa.column("version", sa.Integer),
            sa.column("updated_at", sa.DateTime()),
        )
        op.bulk_insert(state, [{"id": 1, "version": 0, "updated_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}])


def downgrade() -> None:
    op.execute("DELETE FROM strategy_versions WHERE version = 1 AND created_by_id IS NULL")
    op.execute("DELETE FROM index_state WHERE id = 1 AND version = 0")
