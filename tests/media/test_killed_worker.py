"""A video whose worker died mid-processing is processed again (once), without the dead run's partial files."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import Course, LessonKind
from lms.media import services, tasks
from lms.media.models import AssetStatus, MediaAsset, MediaVariant
from lms.web.tasks import recover_stale_jobs_job
from tests.factories import make_course
from tests.media.helpers import mp4_bytes
from tests.media.test_uploads import login_instructor

RESTARTED = "Bộ xử lý nền đã dừng giữa chừng khi đang xử lý tệp; việc xử lý đã được chạy lại."


@pytest.fixture
def stalled_video(client, auth, app, monkeypatch):
    """Leave what a worker killed mid-video leaves: processing, a partial rendition stored and recorded, a work folder."""
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    with monkeypatch.context() as m:
        m.setattr(tasks, "process_asset_job", lambda asset_id: None)  # queued, never taken
        tus.upload(mp4_bytes(1.0, 640, 360), course.slug, filename="bai-hoc.mp4", chunk=50_000)
    asset = db.session.scalar(sa.select(MediaAsset))
    asset.status, asset.progress, asset.heartbeat_at = AssetStatus.PROCESSING, 0.5, utcnow() - timedelta(minutes=3)
    storage = services.get_storage()
    key = f"media/{asset.public_id}/derived/720p.mp4"
    storage.save_bytes(key, b"\x00\x00\x00\x18ftypmp42 half", "video/mp4")
    asset.variants.append(MediaVariant(label="720p", storage_key=key, mime="video/mp4", width=1280, height=720,
                                       size_bytes=20))
    db.session.commit()
    work = services.work_dir(asset)
    work.mkdir(parents=True)
    (work / ".720p.mp4.0123.partial").write_bytes(b"half an encode")
    return asset, key, work


def test_a_video_whose_worker_died_is_processed_again_without_its_partial_files(client, stalled_video):
    asset, key, work = stalled_video
    status = client.get(f"/api/v1/media/{asset.public_id}").get_json()  # the authoring page's poll
    # Jobs run at once in tests: queued again, then processed.
    assert status["status"] == "ready", status
    db.session.expire_all()
    asset = db.session.get(MediaAsset, asset.id)
    assert asset.restarts == 1 and {v.label for v in asset.variants} == {"poster", "360p"}
    assert not services.get_storage().exists(key) and not work.exists()


def test_the_page_says_the_processing_was_restarted(client, stalled_video, monkeypatch):
    asset, _, work = stalled_video
    monkeypatch.setattr(tasks, "process_asset_job", lambda asset_id: None)  # a worker that has not taken it yet
    status = client.get(f"/api/v1/media/{asset.public_id}").get_json()
    assert status["status"] == "queued" and status["note"] == RESTARTED
    assert not work.exists()
    # The lesson's edit page shows it too, and follows it from there.
    course = db.session.get(Course, asset.course_id)
    lesson = courses.add_lesson(course.modules[0], title="Video", slug="video", kind=LessonKind.VIDEO)
    courses.attach_media(lesson, asset)
    db.session.commit()
    page = client.get(f"/courses/{course.slug}/lessons/video/edit").get_data(as_text=True)
    assert RESTARTED in page and f'data-poll="{asset.public_id}"' in page


def test_a_video_that_killed_its_worker_twice_fails_with_a_reason(client, stalled_video):
    asset, key, _ = stalled_video
    asset.restarts = 1
    db.session.commit()
    assert recover_stale_jobs_job.call_local()["media processing"] == 1  # the periodic job, with no page open
    db.session.expire_all()
    asset = db.session.get(MediaAsset, asset.id)
    assert asset.status == AssetStatus.FAILED and asset.variants == []
    assert not services.get_storage().exists(key)
    status = client.get(f"/api/v1/media/{asset.public_id}").get_json()
    assert status["status"] == "failed" and "Bộ xử lý nền đã dừng giữa chừng" in status["failure"]


def test_a_video_still_beating_is_left_alone(client, stalled_video):
    asset, key, work = stalled_video
    asset.heartbeat_at = utcnow() - timedelta(seconds=20)
    db.session.commit()
    assert client.get(f"/api/v1/media/{asset.public_id}").get_json()["status"] == "processing"
    assert services.get_storage().exists(key) and work.exists()
