"""languages of texts: publications get a language; every text says whether its owner set it

Challenges and research groups already store a language; publications get one (``en`` for the
rows already stored: ``matchmaker seed`` and every creation path detect it). ``language_confirmed``
on all three is true when the owner chose the language explicitly; a detected language (false) is
detected again when the text changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _confirmed() -> sa.Column[bool]:
    return sa.Column("language_confirmed", sa.Boolean(), nullable=False, server_default=sa.false())


def upgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=5), nullable=False, server_default="en")
        )
        batch.add_column(_confirmed())
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(_confirmed())
    with op.batch_alter_table("research_groups") as batch:
        batch.add_column(_confirmed())


def downgrade() -> None:
    with op.batch_alter_table("research_groups") as batch:
        batch.drop_column("language_confirmed")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("language_confirmed")
    with op.batch_alter_table("publications") as batch:
        batch.drop_column("language_confirmed")
        batch.drop_column("language")
