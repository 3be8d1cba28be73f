"""The database kernel on a live app: idle connections replaced, unfinished writes dropped, prepared statements kept."""

import pytest

from lms.core.extensions import db
from tests.factories import make_course


def test_a_connection_the_database_dropped_while_idle_is_replaced_before_use(app, monkeypatch):
    import sqlalchemy as sa

    from lms.core import db as lms_db
    from lms.core.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite connections cannot be dropped by the server")
    db.session.remove()
    with db.engine.connect() as conn:  # a request used it and gave it back to the pool
        dropped = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:  # the database restarts, as far as that connection can tell
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    admin.dispose()
    monkeypatch.setattr(lms_db, "IDLE_PING_AFTER_S", 0.0)  # it has been idle long enough
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != dropped


def test_a_request_that_did_not_commit_its_writes_leaves_nothing_behind(app, served):
    import requests
    import sqlalchemy as sa

    from lms.courses.models import Course

    @app.get("/_test/flushed-not-committed")
    def flushed_not_committed():
        db.session.add(Course(slug="flushed", title="Flushed"))
        db.session.flush()  # an INSERT ran, then the view gave up without committing
        return "ok"

    @app.get("/_test/added-not-flushed")
    def added_not_flushed():
        db.session.add(Course(slug="pending", title="Pending"))
        return "ok"

    @app.get("/_test/read-only")
    def read_only():
        return str(db.session.scalar(sa.select(sa.func.count()).select_from(Course)))

    # Served from a thread: each request has its own app context and teardown, as in production.
    for path in ("/_test/flushed-not-committed", "/_test/added-not-flushed", "/_test/read-only"):
        assert requests.get(served + path, timeout=10).status_code == 200
    assert requests.get(served + "/_test/read-only", timeout=10).text == "0"
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 0


def test_postgresql_keeps_prepared_statements_across_read_only_requests(app, served):
    import requests
    import sqlalchemy as sa

    from lms.core.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    make_course()
    db.session.commit()
    db.session.remove()

    @app.get("/_test/prepared")
    def prepared():
        return str(db.session.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements")))

    for _ in range(8):  # psycopg prepares a statement on its 5th use on a connection
        assert requests.get(served + "/courses/viet-bai-ban-hang", timeout=10).status_code == 200
    # A ROLLBACK at the end of each request would have made psycopg forget them all.
    assert int(requests.get(served + "/_test/prepared", timeout=10).text) > 0

