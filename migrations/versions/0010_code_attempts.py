"""code attempts: one-time codes count their tries, reset codes expire, and watching keeps to real time

Revision ID: 0010_code_attempts
Revises: 0009_job_heartbeats
Create Date: 2026-12-04 18:40:00

"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
import lms.core.db


# revision identifiers, used by Alembic.
revision = '0010_code_attempts'
down_revision = '0009_job_heartbeats'
branch_labels = None
depends_on = None

#: Reset codes handed out before this migration had no expiry: they get the default validity from now.
LEGACY_RESET_CODE_HOURS = 72


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_code_expires_at', lms.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('code_tries', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_event_at', lms.core.db.UTCDateTime(), nullable=True))
    users = sa.table('users', sa.column('password_hash', sa.String), sa.column('must_change_password', sa.Boolean),
                     sa.column('reset_code_expires_at', lms.core.db.UTCDateTime()))
    expires = datetime.now(UTC) + timedelta(hours=LEGACY_RESET_CODE_HOURS)
    op.execute(users.update().where(users.c.must_change_password.is_(True), users.c.password_hash.is_not(None))
               .values(reset_code_expires_at=expires))


def downgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_column('last_event_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('code_tries')
        batch_op.drop_column('reset_code_expires_at')
