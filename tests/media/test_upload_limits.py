"""One person's unfinished uploads are bounded in number and in bytes, with a tus answer and a Vietnamese message."""

import os
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.core.extensions import db
from lms.media.models import Upload
from lms.media.services import upload_path
from tests.factories import make_course, pdf_bytes
from tests.media.test_uploads import login_instructor

TOO_MANY = "Bạn đang tải lên 5 tệp"
TOO_MUCH = "Các tệp đang tải dở của bạn đã lên tới"


@pytest.fixture
def course(app):
    return make_course()


def open_uploads() -> int:
    return db.session.scalar(sa.select(sa.func.count(Upload.id)).where(Upload.completed_at.is_(None)))


def test_a_sixth_unfinished_upload_waits_with_429_and_a_vietnamese_message(client, auth, app, course):
    tus, _ = login_instructor(client, auth, course)
    started = [tus.create(1000, course.slug) for _ in range(5)]
    assert [r.status_code for r in started] == [201] * 5
    refused = tus.create(1000, course.slug)
    assert refused.status_code == 429
    assert refused.headers["Tus-Resumable"] == "1.0.0" and int(refused.headers["Retry-After"]) > 0
    assert TOO_MANY in refused.json["error"]
    assert open_uploads() == 5
    # Cancelling one (tus termination) makes room.
    client.delete(started[0].headers["Location"], headers=tus.headers)
    assert tus.create(1000, course.slug).status_code == 201


def test_finished_uploads_do_not_count(client, auth, app, course):
    tus, _ = login_instructor(client, auth, course)
    for n in range(6):
        assert tus.upload(pdf_bytes(), course.slug, filename=f"bai-{n}.pdf").status_code == 204
    assert tus.create(1000, course.slug).status_code == 201


def test_unfinished_uploads_may_declare_only_so_many_bytes_together(client, auth, app, course):
    app.config.update(MAX_UPLOAD_BYTES=600, UPLOAD_BYTES_IN_FLIGHT_PER_USER=1000)
    tus, _ = login_instructor(client, auth, course)
    first = tus.create(600, course.slug)
    assert first.status_code == 201
    assert tus.create(400, course.slug).status_code == 201  # exactly the limit
    refused = tus.create(1, course.slug)
    assert refused.status_code == 413 and refused.headers["Tus-Resumable"] == "1.0.0"
    assert TOO_MUCH in refused.json["error"] and "1000 B" in refused.json["error"]
    assert open_uploads() == 2
    client.delete(first.headers["Location"], headers=tus.headers)
    assert tus.create(600, course.slug).status_code == 201


def test_the_limit_never_refuses_one_file_of_the_largest_size(client, auth, app, course):
    app.config.update(MAX_UPLOAD_BYTES=5000, UPLOAD_BYTES_IN_FLIGHT_PER_USER=1000)
    tus, _ = login_instructor(client, auth, course)
    assert tus.create(5000, course.slug).status_code == 201


def test_each_person_has_their_own_limit(client, auth, app, course):
    tus, _ = login_instructor(client, auth, course)
    for _ in range(5):
        tus.create(1000, course.slug)
    auth.logout()
    other, _ = login_instructor(client, auth, course)
    assert other.create(1000, course.slug).status_code == 201


def test_uploads_left_idle_make_room_for_new_ones(client, auth, app, course):
    tus, _ = login_instructor(client, auth, course)
    started = [tus.create(1000, course.slug) for _ in range(5)]
    uploads = db.session.scalars(sa.select(Upload).order_by(Upload.created_at, Upload.id)).all()
    an_hour_ago = time.time() - 3600
    for upload in uploads[:2]:  # a closed tab and a phone gone offline, an hour ago
        os.utime(upload_path(upload), (an_hour_ago, an_hour_ago))
        upload.created_at -= timedelta(hours=1)
    db.session.commit()
    assert tus.create(1000, course.slug).status_code == 201
    assert open_uploads() == 5
    assert tus.head(started[0].headers["Location"]).status_code == 404  # the oldest idle one made the room
    assert tus.head(started[1].headers["Location"]).status_code == 200  # one was enough
    assert tus.head(started[4].headers["Location"]).status_code == 200
