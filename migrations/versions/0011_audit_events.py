"""audit events: who reached whose personal data, append-only

Revision ID: 0011_audit_events
Revises: 0010_code_attempts
Create Date: 2026-12-04 18:30:00

"""
from alembic import op
import sqlalchemy as sa
import lms.core.db


# revision identifiers, used by Alembic.
revision = '0011_audit_events'
down_revision = '0010_code_attempts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('occurred_at', lms.core.db.UTCDateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_roles', sa.String(length=64), nullable=False),
        sa.Column('action', sa.Enum('exported_list', 'revealed_phone', 'reset_password', 'issued_codes',
                                    'impersonated', 'changed_roles', 'viewed_data_export', 'downloaded_own_data',
                                    'handled_data_request', name='auditaction', native_enum=False,
                                    create_constraint=False, length=32), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('object_kind', sa.Enum('attendance', 'attendance_summary', 'attendance_file', 'sign_in_sheet',
                                         'import_errors', 'activation_slips', 'certificate_register', 'audit_log',
                                         'own_data', 'roles', name='auditobject', native_enum=False,
                                         create_constraint=False, length=32), nullable=True),
        sa.Column('object_ref', sa.String(length=200), nullable=False),
        sa.Column('client_address', sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_subject_id'), ['subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_subject_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))
    op.drop_table('audit_events')
