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
