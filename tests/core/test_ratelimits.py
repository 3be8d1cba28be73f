"""Rate-limit counters in a SQL table: one count for every process, windows that end, nothing lost in a race."""

import multiprocessing
import os
import time

import pytest
from limits.storage import storage_from_string

import lms.core.ratelimits  # noqa: F401  registers the schemes
from lms.core.ratelimits import storage_uri


def _urls(tmp_path):
    urls = [f"lms+sqlite:///{tmp_path / 'counters.sqlite3'}"]
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        urls.append("lms+" + os.environ["TEST_DATABASE_URL"])
    return urls


@pytest.fixture(params=["sqlite", "postgresql"])
def uri(request, tmp_path):
    urls = dict(zip(["sqlite", "postgresql"], _urls(tmp_path), strict=False))
    if request.param not in urls:
        pytest.skip("TEST_DATABASE_URL is not PostgreSQL")
    storage = storage_from_string(urls[request.param])
    storage.reset()
    return urls[request.param]


def test_a_window_counts_then_ends(uri):
    storage = storage_from_string(uri)
    assert [storage.incr("k", 1) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get("other") == 0
    assert time.time() < storage.get_expiry("k") <= time.time() + 1
    time.sleep(1.05)
    assert storage.get("k") == 0
    assert storage.incr("k", 1) == 1  # a new window
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def _hammer(uri: str, times: int) -> None:
    storage = storage_from_string(uri)
    for _ in range(times):
        storage.incr("shared", 60)


def test_two_processes_hitting_one_key_at_once_both_count(uri):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(uri, 50)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert storage_from_string(uri).get("shared") == 100


def test_the_sqlite_set_up_keeps_counters_in_a_file_of_their_own_and_postgresql_in_its_database(tmp_path):
    assert storage_uri(f"sqlite:///{tmp_path}/lms.sqlite3", tmp_path) == \
        f"lms+sqlite:///{tmp_path}/rate-limits.sqlite3"
    assert storage_uri("postgresql+psycopg://db/lms", tmp_path) == "lms+postgresql+psycopg://db/lms"
