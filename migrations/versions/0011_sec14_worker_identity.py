"""worker identity: a job, run or claim whose process was killed on this machine is released
at once

``jobs.worker`` and ``matching_runs.worker`` name the process that runs the job or run, and
``idempotency_keys.owner`` the process of the request holding a claim (host, boot, PID namespace,
PID and start time; see ``matchmaker.jobs.liveness``). When that process is known to be gone,
the job shows as failed and a retry with the same Idempotency-Key runs at once instead of after
the 60 s heartbeat and lease.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("jobs", "worker"), ("matching_runs", "worker"), ("idempotency_keys", "owner"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
