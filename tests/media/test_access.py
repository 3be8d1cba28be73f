"""Who may upload and see media: every purpose has its rules, and a purpose nobody connected is refused."""

import sqlalchemy as sa

from lms.core.extensions import db
from lms.media.access import may_upload, may_view
from lms.media.models import MediaAsset
from tests.factories import make_course, make_trainee, pdf_bytes
from tests.media.test_uploads import login_instructor


def test_an_unknown_upload_purpose_is_refused_not_treated_as_a_lesson(client, auth, app):
    course = make_course()
    tus, instructor = login_instructor(client, auth, course)
    tus.upload(pdf_bytes(), course.slug, filename="Tài liệu.pdf")
    asset = db.session.scalar(sa.select(MediaAsset))
    trainee = make_trainee(enrolled_in=course)
    auth.logout()
    auth.login(trainee.phone)
    url = f"/media/{asset.public_id}/original"
    assert client.get(url).status_code == 200  # a lesson's file, to an enrolled trainee
    asset.purpose = "mystery"  # e.g. left by a package no longer connected
    db.session.commit()
    assert client.get(url).status_code == 403
    assert not may_view(trainee, asset, course)
    assert not may_view(instructor, asset, course)
    assert not may_upload(instructor, course, "mystery")
    assert may_upload(instructor, course, "lesson")


def test_may_view_refuses_an_asset_of_a_purpose_nobody_connected(app):
    course = make_course()
    trainee = make_trainee(enrolled_in=course)
    assert may_view(trainee, MediaAsset(purpose="lesson", is_public=False, course_id=course.id), course)
    assert not may_view(trainee, MediaAsset(purpose="mystery", is_public=False, course_id=course.id), course)
