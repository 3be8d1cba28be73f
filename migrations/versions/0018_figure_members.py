"""figure members: the enrolments a snapshot found active or stuck, so the lists behind its numbers never move

Revision ID: 0018_figure_members
Revises: 0016_sync_status
Create Date: 2026-12-07 15:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_figure_members'
down_revision = '0016_sync_status'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('figure_members',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('figure', sa.String(length=32), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['figure_snapshots.id'], name=op.f('fk_figure_members_snapshot_id_figure_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'figure', 'enrollment_id', name=op.f('pk_figure_members'))
    )


def downgrade():
    op.drop_table('figure_members')
