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
    _detect_stored_publications()


def _detect_stored_publications() -> None:
    """Publications stored before this revision: detect each one's language once from its title
    and abstract, as creating one does, so that a German abstract is not matched as English."""
    from matchmaker.ranking.language import detect_language

    bind = op.get_bind()
    pubs = sa.table(
        "publications",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("abstract", sa.Text),
        sa.column("language", sa.String),
    )
    rows = bind.execute(sa.select(pubs.c.id, pubs.c.title, pubs.c.abstract)).all()
    for pub_id, title, abstract in rows:
        text = "\n".join(t for t in (title, abstract) if t)
        language = detect_language(text, default="en")
        if language != "en":
            bind.execute(pubs.update().where(pubs.c.id == pub_id).values(language=language))


def downgrade() -> None:
    with op.batch_alter_table("research_groups") as batch:
        batch.drop_column("language_confirmed")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("language_confirmed")
    with op.batch_alter_table("publications") as batch:
        batch.drop_column("language_confirmed")
        batch.drop_column("language")
