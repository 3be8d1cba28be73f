"""cohort changes: the history of a class's details

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
import lms.core.db


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cohort_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', lms.core.db.UTCDateTime(), nullable=False),
    sa.Column('field', sa.Enum('name', 'commune', 'venue', 'start_date', 'end_date', 'capacity', 'instructors', name='cohortfield', native_enum=False, length=32), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_cohort_changes_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_cohort_changes_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohort_changes'))
    )
    with op.batch_alter_table('cohort_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohort_changes_changed_by_id'), ['changed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cohort_changes_cohort_id'), ['cohort_id'], unique=False)


def downgrade():
    with op.batch_alter_table('cohort_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohort_changes_cohort_id'))
        batch_op.drop_index(batch_op.f('ix_cohort_changes_changed_by_id'))

    op.drop_table('cohort_changes')
