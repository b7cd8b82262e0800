"""learning from decisions: stated interest and learning settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import matchmaker.db


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('learning_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', matchmaker.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_learning_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_learning_settings'))
    )
    op.create_table('stated_interests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('group', 'company', name='interestside', native_enum=False, length=20), nullable=False),
    sa.Column('value', sa.Enum('interested', 'not_for_us', name='interestvalue', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('stated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', matchmaker.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', matchmaker.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_stated_interests_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['research_groups.id'], name=op.f('fk_stated_interests_group_id_research_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stated_by_id'], ['users.id'], name=op.f('fk_stated_interests_stated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stated_interests')),
    sa.UniqueConstraint('challenge_id', 'group_id', 'side', name='uq_stated_interests_pair_side')
    )
    with op.batch_alter_table('stated_interests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stated_interests_challenge_id'), ['challenge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stated_interests_group_id'), ['group_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stated_interests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stated_interests_group_id'))
        batch_op.drop_index(batch_op.f('ix_stated_interests_challenge_id'))
    op.drop_table('stated_interests')
    op.drop_table('learning_settings')
