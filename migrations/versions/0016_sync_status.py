"""sync statuses: what each trainee's phone last said about the items waiting in its outbox

Revision ID: 0016_sync_status
Revises: 0015_figure_snapshots
Create Date: 2026-12-07 15:30:00

"""
from alembic import op
import sqlalchemy as sa
import lms.core.db


# revision identifiers, used by Alembic.
revision = '0016_sync_status'
down_revision = '0015_figure_snapshots'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_statuses',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('last_synced_at', lms.core.db.UTCDateTime(), nullable=True),
    sa.Column('reported_at', lms.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_statuses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_sync_statuses'))
    )


def downgrade():
    op.drop_table('sync_statuses')
