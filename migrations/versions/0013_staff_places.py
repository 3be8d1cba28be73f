"""staff places: the provinces and communes an organizer or a commune official answers for

Revision ID: 0013_staff_places
Revises: 0012_privacy
Create Date: 2026-12-04 21:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_staff_places'
down_revision = '0012_privacy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.Integer(), nullable=True),
    sa.Column('commune_code', sa.Integer(), nullable=True),
    sa.CheckConstraint('(province_code IS NULL) <> (commune_code IS NULL)', name=op.f('ck_staff_places_one_kind_of_place')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_places_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_places')),
    sa.UniqueConstraint('user_id', 'province_code', 'commune_code', name='uq_staff_places_user_place')
    )
    with op.batch_alter_table('staff_places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_places_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_places', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_places_user_id'))

    op.drop_table('staff_places')
