"""authors of a publication

``publications.authors`` is the list of the publication's author names, as typed on the
publications page or read from a BibTeX/RIS entry ("Last, First and Other" → one name each).
Publications stored before it have none (an empty list). Authors are shown, never matched on.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.add_column(
            sa.Column("authors", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.drop_column("authors")
