import os
import subprocess
import sys

from huey.storage import SqliteStorage

from lms import create_app, jobs
from lms.web.tasks import count_accounts_job
from tests.conftest import TEST_CONFIG
from tests.factories import make_trainee


def test_jobs_run_inline_in_tests(app):
    make_trainee()
    assert count_accounts_job("inline")() == {"note": "inline", "accounts": 1}


def test_a_job_crosses_the_queue_to_a_real_worker(app, tmp_path):
    """Enqueue on the embedded SQLite queue; a separate `lms worker` process runs it."""
    make_trainee()
    instance = tmp_path / "worker-instance"
    config = {**TEST_CONFIG, "JOBS_IMMEDIATE": False, "INSTANCE_PATH": str(instance),
              "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    queued_app = create_app(config)
    assert isinstance(jobs.huey.storage, SqliteStorage)
    env = {**os.environ, "LMS_INSTANCE_PATH": str(instance),
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x"}
    env.pop("REDIS_URL", None)
    worker = subprocess.Popen([sys.executable, "-m", "lms.cli", "worker", "--workers", "1"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with queued_app.app_context():
            result = count_accounts_job("from the queue")
            value = result.get(blocking=True, timeout=30)
        assert value == {"note": "from the queue", "accounts": 1}
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        jobs.init_app(app)  # back to inline for the rest of the suite
    assert jobs.huey.immediate


def test_redis_url_moves_the_queue_to_redis(app, tmp_path):
    from huey.storage import RedisStorage

    create_app({**TEST_CONFIG, "JOBS_IMMEDIATE": False, "REDIS_URL": "redis://127.0.0.1:6379/15",
                "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert isinstance(jobs.huey.storage, RedisStorage)
    finally:
        jobs.init_app(app)
