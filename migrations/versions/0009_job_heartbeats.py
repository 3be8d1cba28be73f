"""job heartbeats: a running job's worker is known to be gone when its heartbeat stops

Revision ID: 0009_job_heartbeats
Revises: 0008
Create Date: 2026-12-03 13:00:00

"""
from alembic import op
import sqlalchemy as sa
import lms.core.db


# revision identifiers, used by Alembic.
revision = '0009_job_heartbeats'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendance_export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', lms.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', lms.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', lms.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('restarts', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_column('restarts')
        batch_op.drop_column('heartbeat_at')
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
    with op.batch_alter_table('attendance_export_jobs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
