"""privacy: consent to the notice, requests about personal data, totals of lesson activity past its retention

Revision ID: 0012_privacy
Revises: 0010_code_attempts
Create Date: 2026-12-04 18:35:00

"""
from alembic import op
import sqlalchemy as sa
import lms.core.db


# revision identifiers, used by Alembic.
revision = '0012_privacy'
down_revision = '0010_code_attempts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('notice_version', sa.String(length=32), nullable=False),
    sa.Column('choice', sa.Enum('given', 'declined', 'withdrawn', name='consentchoice', native_enum=False, length=32), nullable=False),
    sa.Column('method', sa.Enum('registration', 'activation', 'interstitial', 'privacy_page', 'seed', name='consentmethod', native_enum=False, length=32), nullable=False),
    sa.Column('recorded_at', lms.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consent_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index('ix_consent_records_user_version', ['user_id', 'notice_version', 'recorded_at'], unique=False)

    op.create_table('privacy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('deletion', 'correction', 'access', 'objection', name='requestkind', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('received', 'cooling_off', 'done', 'cancelled', 'refused', name='requeststatus', native_enum=False, length=32), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('received_at', lms.core.db.UTCDateTime(), nullable=False),
    sa.Column('due_at', lms.core.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', lms.core.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('cool_off_until', lms.core.db.UTCDateTime(), nullable=True),
    sa.Column('handled_at', lms.core.db.UTCDateTime(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_privacy_requests_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], name=op.f('fk_privacy_requests_handled_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_privacy_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_requests_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_requests_user_id'), ['user_id'], unique=False)

    op.create_table('lesson_activity_totals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_activity_totals_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lesson_activity_totals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_activity_totals')),
    sa.UniqueConstraint('user_id', 'lesson_id', 'kind', name='uq_lesson_activity_totals')
    )
    with op.batch_alter_table('lesson_activity_totals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_activity_totals_lesson_id'), ['lesson_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lesson_activity_totals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_activity_totals_lesson_id'))

    op.drop_table('lesson_activity_totals')
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_requests_user_id'))
        batch_op.drop_index('ix_privacy_requests_status_due')

    op.drop_table('privacy_requests')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_user_version')

    op.drop_table('consent_records')
