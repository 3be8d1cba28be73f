"""On a phone-sized Chromium: a video lesson resumes where the trainee left it, and a page left early saves no 0."""

import time

import pytest

from lms.core.extensions import db
from lms.learning import services as learning
from lms.media import services as media
from tests.conftest import wait_until_logged_in
from tests.factories import DEFAULT_PASSWORD, event, make_course, make_trainee
from tests.media.test_processing import write_clip

pytestmark = pytest.mark.e2e

SAVED = 12.0


@pytest.fixture
def video_lesson(app, tmp_path):
    """A 30-second video lesson, processed like an upload, and a trainee who stopped it at 12 s."""
    from lms.courses import services as courses
    from lms.courses.models import LessonKind

    course = make_course(lessons=0)
    clip = write_clip(tmp_path / "clip.mp4", (320, 180), seconds=30, fps=10, audio=False, faststart=True)
    asset = media.ingest_file(clip, owner_id=None, course_id=course.id, filename="clip.mp4")
    media.process_asset(asset)
    lesson = courses.add_lesson(course.modules[0], title="Video", slug="video", kind=LessonKind.VIDEO)
    courses.attach_media(lesson, asset)
    trainee = make_trainee(enrolled_in=course)
    learning.record_event(trainee, event(lesson, minutes_ago=5, position_s=SAVED, segments=((0, SAVED),)))
    db.session.commit()
    return trainee, f"/courses/{course.slug}/lessons/{lesson.slug}", lesson


def log_in(page, base, trainee):
    page.goto(base + "/login")
    page.fill("input[name=phone]", trainee.phone)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    wait_until_logged_in(page)


def saved_position(lesson, trainee) -> float:
    db.session.expire_all()
    return learning.get_progress(trainee, lesson).position_s


def test_resume_when_the_cached_video_loaded_before_the_player_script(served, new_phone_page, video_lesson):
    trainee, path, lesson = video_lesson
    # Without the service worker: Playwright's routes never see the files it answers from its cache,
    # and this test slows the player script down with one.
    page = new_phone_page(service_workers="block")
    log_in(page, served, trainee)
    page.goto(served + path)  # first visit: the video lands in the browser's cache
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")

    # Second visit, as after the back button: the cached video's metadata is there before
    # the (slow) player script runs, so "loadedmetadata" has fired before anyone listened.
    page.add_init_script("document.addEventListener('loadedmetadata', () => { window.metaAt = performance.now(); }, true)")

    def slow_player(route):
        body = route.fetch().text()
        time.sleep(1.5)
        route.fulfill(body="window.playerAt = performance.now();\n" + body,
                      headers={"content-type": "text/javascript"})

    page.route("**/static/js/player.js*", slow_player)
    page.goto(served + "/learn")
    page.goto(served + path)
    assert page.evaluate("window.metaAt !== undefined && window.metaAt < window.playerAt")
    page.wait_for_function(f"Math.abs(document.querySelector('video').currentTime - {SAVED}) < 0.5", timeout=5000)


def test_leaving_before_the_video_loaded_keeps_the_saved_position(served, phone_page, video_lesson):
    trainee, path, lesson = video_lesson
    page = phone_page
    log_in(page, served, trainee)
    posted = []
    page.on("request", lambda r: posted.append(r.post_data) if r.url.endswith("/api/v1/progress/batch") else None)
    page.route("**/media/**", lambda route: route.abort())  # the video never arrives (network gone)
    page.goto(served + path)
    page.wait_for_function("() => document.querySelector('video').networkState === HTMLMediaElement.NETWORK_NO_SOURCE")
    # The trainee switches app / leaves: the page is hidden before any metadata loaded.
    page.evaluate("window.dispatchEvent(new Event('pagehide'))")
    page.wait_for_timeout(500)
    outbox = page.evaluate("() => window.LmsOutbox.items()")
    assert [e for e in outbox if e["body"]["kind"] == "position"] == []
    assert not any('"position_s":0' in (body or "").replace(" ", "") for body in posted)
    assert saved_position(lesson, trainee) == SAVED
