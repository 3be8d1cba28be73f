"""The migrations build exactly the models' schema, and undo cleanly."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lms import create_app
from lms.core.extensions import db
from tests.conftest import TEST_CONFIG, _create_postgres_database


def _fresh_app(tmp_path):
    import os

    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        url, drop = _create_postgres_database(base)
    else:
        url, drop = f"sqlite:///{tmp_path / 'migrations.sqlite3'}", (lambda: None)
    return create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path)}), drop


def test_migrations_match_the_models_and_downgrade_cleanly(tmp_path):
    app, drop = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, db.metadata) == []
            downgrade(revision="base")
            with db.engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
            assert tables == set()
            upgrade()
            with db.engine.connect() as conn:
                assert {"users", "courses", "lessons"} <= set(sa.inspect(conn).get_table_names())
            db.engine.dispose()
    finally:
        drop()


def test_the_search_name_migration_folds_the_names_already_there(tmp_path):
    app, drop = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade(revision="0013_staff_places")
            with db.engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO users (full_name, phone, must_change_password, auth_epoch, active, created_at, code_tries) "
                    "VALUES ('Nguyễn Thị Hường', '0912000001', false, 0, true, '2026-01-01 00:00:00', 0), "
                    "('Đỗ  Văn Đức', '0912000002', false, 0, true, '2026-01-01 00:00:00', 0)"))
            upgrade(revision="0017_user_search_name")
            with db.engine.connect() as conn:
                keys = conn.execute(sa.text("SELECT search_name FROM users ORDER BY phone")).scalars().all()
            assert keys == [" nguyen thi huong", " do van duc"]
            db.engine.dispose()
    finally:
        drop()
