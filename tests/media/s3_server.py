"""Fixtures: moto's S3 server on a loopback port, and an S3Storage on a fresh bucket."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from lms.core.storage import S3Storage

DUMMY_ACCESS_KEY = "test"
DUMMY_SECRET_KEY = "test"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Start moto's S3 server as a real HTTP server; yield its endpoint URL."""
    # Port 0 lets the OS hand out a free port atomically, with no probe-then-bind race
    # between parallel test runs.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_server: str) -> Iterator[S3Storage]:
    """Return an S3Storage on a new, uniquely named bucket, emptied and dropped afterwards."""
    storage = S3Storage(
        bucket=f"lms-test-{uuid.uuid4().hex[:16]}",
        endpoint_url=s3_server,
        region="us-east-1",
        access_key_id=DUMMY_ACCESS_KEY,
        secret_access_key=DUMMY_SECRET_KEY,
        addressing_style="path",
    )
    storage.ensure_bucket()
    yield storage
    # moto keeps objects in this process's memory; drop them so big test files do not pile up.
    client = storage.client
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=storage.bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=storage.bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=storage.bucket)
