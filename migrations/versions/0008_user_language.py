"""language of an account: the pages and the e-mails of a user in the language they chose

``users.language`` is ``de`` or ``en`` once the user chose a language (the language switch, or
the language of the pages they signed in with); empty until then, which means German.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
