"""A standard tus client (tuspy) against the live app over HTTP, and media on S3 end to end."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from tusclient import client as tus_client

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses import services as courses
from lms.media.models import AssetStatus, MediaAsset, Upload
from tests.factories import DEFAULT_PASSWORD, make_course, make_user
from tests.media.helpers import pdf_bytes
from tests.media.s3_server import s3_server, s3_storage  # noqa: F401


@pytest.fixture
def live_app(served):
    """The test app served on a loopback port (tests/conftest.py's `served`)."""
    return served


def logged_in_session(base: str, phone: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    html = session.get(f"{base}/login").text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    session.post(f"{base}/login", data={"phone": phone, "password": DEFAULT_PASSWORD, "csrf_token": token})
    html = session.get(f"{base}/courses/manage").text
    return session, re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def make_instructor_course():
    course = make_course()
    instructor = make_user(Role.INSTRUCTOR)
    courses.set_instructors(course, [instructor])
    db.session.commit()
    return course, instructor


def test_tuspy_uploads_in_chunks_and_resumes_after_a_break(live_app, tmp_path, app):
    course, instructor = make_instructor_course()
    session, token = logged_in_session(live_app, instructor.phone)
    data = pdf_bytes("Tài liệu tus") * 1  # a real PDF, ~30 KB
    path = tmp_path / "tai-lieu.pdf"
    path.write_bytes(data)
    headers = {"X-CSRFToken": token, "Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}
    client = tus_client.TusClient(f"{live_app}/api/v1/uploads/", headers=headers)
    uploader = client.uploader(str(path), chunk_size=8 * 1024,
                               metadata={"filename": "Tài liệu tus.pdf", "course": course.slug, "purpose": "lesson"})
    uploader.upload_chunk()
    uploader.upload_chunk()  # the phone goes offline after two chunks
    assert uploader.offset == 16 * 1024
    # A new client object (a page reload) picks the upload up at the server's offset.
    again = tus_client.TusClient(f"{live_app}/api/v1/uploads/", headers=headers).uploader(
        str(path), chunk_size=8 * 1024, url=uploader.url)
    assert again.get_offset() == 16 * 1024
    again.upload()
    asset = db.session.scalar(sa.select(MediaAsset))
    assert asset is not None and asset.status == AssetStatus.READY
    assert asset.original_filename == "Tài liệu tus.pdf"
    assert session.get(f"{live_app}/media/{asset.public_id}/original").content == data


def test_media_on_s3_upload_and_playback_with_range(live_app, s3_storage, app):  # noqa: F811
    app.extensions["lms_storage"] = s3_storage
    course, instructor = make_instructor_course()
    session, token = logged_in_session(live_app, instructor.phone)
    data = pdf_bytes("Tài liệu S3")
    tus_headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": token}
    import base64

    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"filename": "Bài 1.pdf", "course": course.slug}.items())
    created = session.post(f"{live_app}/api/v1/uploads/", headers={**tus_headers, "Upload-Length": str(len(data)),
                                                                    "Upload-Metadata": meta})
    assert created.status_code == 201
    patched = session.patch(live_app + created.headers["Location"], data=data, headers={
        **tus_headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204
    asset = db.session.scalar(sa.select(MediaAsset))
    assert s3_storage.exists(asset.storage_key) and s3_storage.size(asset.storage_key) == len(data)
    # The app hands out a signed, expiring URL; the bytes come straight from S3 with Range.
    response = session.get(f"{live_app}/media/{asset.public_id}/original", allow_redirects=False)
    assert response.status_code == 302
    signed = response.headers["Location"]
    assert "X-Amz-Signature=" in signed and "X-Amz-Expires=" in signed
    request = urllib.request.Request(signed, headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(request) as ranged:  # noqa: S310 - moto on loopback
        assert ranged.status == 206 and ranged.read() == data[:100]


def _serve_in_a_process(app, port: int) -> subprocess.Popen:
    """Serve the test's database and instance folder from a real `lms run`, which a test may kill -9."""
    env = {**os.environ, "LMS_INSTANCE_PATH": app.instance_path, "SECRET_KEY": "tus-crash-test",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "lms.cli", "run", "--port", str(port), "--no-reload"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    pytest.fail("lms run did not answer /healthz")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tuspy_resumes_after_the_server_was_killed_in_the_middle_of_a_patch(app, tmp_path):
    """kill -9 while a PATCH streams in: its bytes are on disk, its offset never reached the database."""
    course, instructor = make_instructor_course()
    data = pdf_bytes("Tài liệu") + b"%" + b"0" * (3 * 1024 * 1024)
    path = tmp_path / "tai-lieu.pdf"
    path.write_bytes(data)
    port = _free_port()
    server = _serve_in_a_process(app, port)
    try:
        base = f"http://127.0.0.1:{port}"
        session, token = logged_in_session(base, instructor.phone)
        headers = {"X-CSRFToken": token, "Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}
        client = tus_client.TusClient(f"{base}/api/v1/uploads/", headers=headers)
        uploader = client.uploader(str(path), chunk_size=len(data),
                                   metadata={"filename": "Tài liệu.pdf", "course": course.slug, "purpose": "lesson"})
        uploader.set_url(uploader.create_url())
        upload_id = uploader.url.rsplit("/", 1)[-1]
        part = Path(app.config["UPLOAD_TEMP_DIR"]) / f"{upload_id}.part"
        # One PATCH of the whole file, of which only 1.5 MiB is sent before the server dies.
        patch = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        patch.putrequest("PATCH", uploader.url.removeprefix(base))
        for name, value in {**headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Length": str(len(data)),
                            "Content-Type": "application/offset+octet-stream"}.items():
            patch.putheader(name, value)
        patch.endheaders()
        patch.send(data[: 3 * 512 * 1024])
        deadline = time.monotonic() + 10
        while (not part.exists() or part.stat().st_size < 1024 * 1024) and time.monotonic() < deadline:
            time.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        patch.close()
    finally:
        server.kill()
        server.wait(10)
    written = part.stat().st_size
    db.session.expire_all()
    assert written >= 1024 * 1024 and db.session.get(Upload, upload_id).offset == 0  # the file is ahead of the row

    server = _serve_in_a_process(app, port)  # the service restarts; the phone asks where to go on
    try:
        again = tus_client.TusClient(f"{base}/api/v1/uploads/", headers=headers).uploader(
            str(path), chunk_size=1024 * 1024, url=uploader.url)
        assert again.get_offset() == written
        again.upload()
        db.session.rollback()  # end this test's read transaction: the server process wrote since
        asset = db.session.scalar(sa.select(MediaAsset))
        assert asset is not None and asset.status == AssetStatus.READY
        assert session.get(f"{base}/media/{asset.public_id}/original").content == data
    finally:
        server.terminate()
        server.wait(10)
