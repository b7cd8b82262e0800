"""idempotency leases: a claim whose request died is released

A POST that hands its work to a job claims its Idempotency-Key before it runs. ``lease_at`` is
when the claim was taken or last refreshed by its running request (rows stored before this
revision count from ``created_at``); ``job_id`` and ``run_id`` name the import job or matching
run the request started, so that a retry can see that it failed or lost its worker.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("lease_at", matchmaker.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("run_id")
        batch.drop_column("job_id")
        batch.drop_column("lease_at")
