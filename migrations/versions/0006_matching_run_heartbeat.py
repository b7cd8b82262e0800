"""heartbeat of matching runs: a run whose worker died shows as failed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("matching_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", matchmaker.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matching_runs") as batch:
        batch.drop_column("heartbeat_at")
