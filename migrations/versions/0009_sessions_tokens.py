"""sessions and tokens you can take back; lockout per account and client

``users.session_version`` is kept in every session at sign-in and checked on each request:
sign-out, a password change and deactivation bump it, which ends every session of the user.
``api_tokens.expires_at`` lets a token expire (tokens stored before stay without expiry).
``sign_in_failures`` counts failed sign-ins per (e-mail, client address), replacing the counter
on the user (``failed_logins``, ``locked_until``) that let anyone lock out any account.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import matchmaker.db

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", matchmaker.db.UTCDateTime(), nullable=True))
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", matchmaker.db.UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", matchmaker.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
        sa.UniqueConstraint("account_key", "client_key", name="uq_sign_in_failures_account_client"),
    )
    with op.batch_alter_table("sign_in_failures") as batch:
        batch.create_index(
            batch.f("ix_sign_in_failures_account_key"), ["account_key"], unique=False
        )
        batch.create_index(
            batch.f("ix_sign_in_failures_last_failure_at"), ["last_failure_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sign_in_failures") as batch:
        batch.drop_index(batch.f("ix_sign_in_failures_last_failure_at"))
        batch.drop_index(batch.f("ix_sign_in_failures_account_key"))
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("locked_until", matchmaker.db.UTCDateTime(), nullable=True),
        )
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_column("session_version")
