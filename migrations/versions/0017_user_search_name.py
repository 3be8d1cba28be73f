"""users.search_name: each name folded as searches compare it, so a search at programme scale is one LIKE

Revision ID: 0017_user_search_name
Revises: 0013_staff_places
Create Date: 2026-12-04 22:10:00

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_user_search_name'
down_revision = '0013_staff_places'
branch_labels = None
depends_on = None


def _search_key(name):
    # lms.core.text.search_key as of this revision, copied so the migration never changes with the code.
    text = " ".join(unicodedata.normalize("NFC", name or "").split())
    decomposed = unicodedata.normalize("NFD", text.lower())
    return " " + "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").replace("đ", "d")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=130), server_default='', nullable=False))
    connection = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('full_name', sa.String),
                     sa.column('search_name', sa.String))
    last = 0
    while True:
        rows = connection.execute(sa.select(users.c.id, users.c.full_name).where(users.c.id > last)
                                  .order_by(users.c.id).limit(5000)).all()
        if not rows:
            break
        connection.execute(users.update().where(users.c.id == sa.bindparam('user_id'))
                           .values(search_name=sa.bindparam('key')),
                           [{'user_id': i, 'key': _search_key(name)} for i, name in rows])
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('search_name')
