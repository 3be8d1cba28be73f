"""class moves: a class's history records trainees moved in, moved out and withdrawn

Revision ID: 0014_class_moves
Revises: 0017_user_search_name
Create Date: 2026-12-04 22:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_class_moves'
down_revision = '0017_user_search_name'
branch_labels = None
depends_on = None


def upgrade():
    # The new CohortField values (moved_in, moved_out, withdrawn) need nothing: the column is a
    # VARCHAR(32) without a CHECK constraint (lms.core.db.enum_column_type).
    with op.batch_alter_table('cohort_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('other_cohort_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('member_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cohort_changes_other_cohort_id_cohorts'), 'cohorts',
                                    ['other_cohort_id'], ['id'], ondelete='SET NULL')


def downgrade():
    # The code before this revision cannot read these fields: their history goes with the columns.
    op.execute("DELETE FROM cohort_changes WHERE field IN ('moved_in', 'moved_out', 'withdrawn')")
    with op.batch_alter_table('cohort_changes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cohort_changes_other_cohort_id_cohorts'), type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('member_count')
        batch_op.drop_column('other_cohort_id')
