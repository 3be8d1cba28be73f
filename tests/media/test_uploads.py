"""The tus upload API, content checks, processing status and media delivery."""

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import Course
from lms.media.models import AssetStatus, MediaAsset, Upload
from tests.factories import make_course, make_trainee, make_user
from tests.media.helpers import PNG_HEADER, Tus, csrf_from, mp4_bytes, pdf_bytes, png_bytes


def login_instructor(client, auth, course=None):
    instructor = make_user(Role.INSTRUCTOR)
    if course is not None:
        courses.set_instructors(course, [instructor])
        db.session.commit()
    auth.login(instructor.phone)
    return Tus(client, csrf_from(client.get("/courses/manage").get_data(as_text=True))), instructor


def test_options_announces_tus_and_the_size_limit(client, app):
    response = client.options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "creation" in response.headers["Tus-Extension"] and "termination" in response.headers["Tus-Extension"]
    assert int(response.headers["Tus-Max-Size"]) == 2 * 1024**3


def test_a_pdf_uploads_in_chunks_and_is_ready(client, auth, app):
    course = make_course()
    tus, instructor = login_instructor(client, auth, course)
    data = pdf_bytes()
    response = tus.upload(data, course.slug, filename="Tài liệu bài 1.pdf", chunk=7000)
    assert response.status_code == 204
    asset = db.session.scalar(sa.select(MediaAsset))
    assert response.headers["Lms-Media-Id"] == asset.public_id
    assert (asset.mime, asset.status, asset.size_bytes) == ("application/pdf", AssetStatus.READY, len(data))
    assert asset.original_filename == "Tài liệu bài 1.pdf"
    assert asset.storage_key.endswith("/original.pdf") and "Tài" not in asset.storage_key
    assert asset.owner_id == instructor.id and asset.course_id == course.id


def test_head_reports_the_offset_so_an_upload_resumes(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = png_bytes()
    location = tus.create(len(data), course.slug, "anh.png", "image").headers["Location"]
    assert tus.patch(location, 0, data[:5000]).status_code == 204
    # The connection drops; later (a reload, another tab) the client asks where to resume.
    head = tus.head(location)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "5000" and head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    final = tus.patch(location, 5000, data[5000:])
    assert final.status_code == 204 and final.headers["Upload-Offset"] == str(len(data))


def test_patch_at_the_wrong_offset_gets_409_and_loses_nothing(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = pdf_bytes()
    location = tus.create(len(data), course.slug, "a.pdf").headers["Location"]
    tus.patch(location, 0, data[:6000])
    conflict = tus.patch(location, 3000, data[3000:9000])
    assert conflict.status_code == 409
    assert conflict.headers["Upload-Offset"] == "6000"
    assert tus.head(location).headers["Upload-Offset"] == "6000"
    assert tus.patch(location, 6000, data[6000:]).status_code == 204
    stored = db.session.scalar(sa.select(MediaAsset))
    from lms.core.storage import get_storage

    assert get_storage().open(stored.storage_key).read() == data


# --- A worker killed in the middle of a PATCH (kill -9, out of memory, a deploy) ---------------------
# The bytes it wrote are on disk, its new offset never reached the database. HEAD and PATCH must
# both go by the file, and the database must be made to agree.


def _part_file(location: str):
    from lms.media.services import upload_path

    upload = db.session.get(Upload, location.rsplit("/", 1)[-1])
    return upload, upload_path(upload)


def _stored_bytes() -> bytes:
    from lms.core.storage import get_storage

    asset = db.session.scalar(sa.select(MediaAsset))
    return get_storage().open(asset.storage_key).read()


def test_after_a_crash_that_left_more_bytes_than_the_database_says_head_and_patch_agree(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = pdf_bytes() + b"%" + b"7" * 40_000
    location = tus.create(len(data), course.slug, "a.pdf").headers["Location"]
    assert tus.patch(location, 0, data[:5000]).status_code == 204
    upload, part = _part_file(location)
    with part.open("ab") as fh:  # the killed PATCH wrote 12,345 more bytes; its offset was never committed
        fh.write(data[5000:17_345])
    db.session.expire_all()
    assert db.session.get(Upload, upload.id).offset == 5000

    head = tus.head(location)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "17345"
    db.session.expire_all()
    assert db.session.get(Upload, upload.id).offset == 17_345  # reconciled
    # A client that trusted an older answer is told the same number, not sent round in circles.
    stale = tus.patch(location, 5000, data[5000:10_000])
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "17345"
    done = tus.patch(location, 17_345, data[17_345:])
    assert done.status_code == 204 and done.headers["Lms-Media-Id"]
    assert _stored_bytes() == data


def test_after_a_crash_that_left_fewer_bytes_than_the_database_says_the_upload_resumes_from_the_file(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = pdf_bytes() + b"%" + b"7" * 40_000
    location = tus.create(len(data), course.slug, "a.pdf").headers["Location"]
    assert tus.patch(location, 0, data[:9000]).status_code == 204
    upload, part = _part_file(location)
    with part.open("r+b") as fh:  # the last 4,000 bytes never reached the disk (a crash of the machine)
        fh.truncate(5000)
    head = tus.head(location)
    assert head.headers["Upload-Offset"] == "5000"
    assert tus.patch(location, 9000, data[9000:]).headers["Upload-Offset"] == "5000"  # 409, with the truth
    assert tus.patch(location, 5000, data[5000:]).status_code == 204
    assert _stored_bytes() == data


def test_a_file_complete_on_disk_but_left_unfinished_is_finished_by_head(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = pdf_bytes()
    location = tus.create(len(data), course.slug, "a.pdf").headers["Location"]
    assert tus.patch(location, 0, data[:3000]).status_code == 204
    upload, part = _part_file(location)
    with part.open("ab") as fh:  # the last PATCH wrote everything and died before saving the asset
        fh.write(data[3000:] + b"garbage past the declared length")
    head = tus.head(location)
    # Standard tus clients stop asking once the offset reaches the length: the file must exist by then.
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    asset = db.session.scalar(sa.select(MediaAsset))
    assert head.headers["Lms-Media-Id"] == asset.public_id and asset.status == AssetStatus.READY
    assert _stored_bytes() == data  # what went past the length was cut off
    # Asked again (a reload), HEAD and a last PATCH both name the same file; nothing is made twice.
    assert tus.head(location).headers["Lms-Media-Id"] == asset.public_id
    again = tus.patch(location, len(data), b"")
    assert again.status_code == 204 and again.headers["Lms-Media-Id"] == asset.public_id
    assert db.session.scalar(sa.select(sa.func.count(MediaAsset.id))) == 1


def test_a_lost_answer_to_the_last_chunk_is_answered_again(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = pdf_bytes()
    location = tus.create(len(data), course.slug, "a.pdf").headers["Location"]
    tus.patch(location, 0, data[:4000])
    media_id = tus.patch(location, 4000, data[4000:]).headers["Lms-Media-Id"]
    # The 204 never reached the phone; it sends the last chunk again, then finishes as told.
    resent = tus.patch(location, 4000, data[4000:])
    assert resent.status_code == 409 and resent.headers["Upload-Offset"] == str(len(data))
    assert tus.patch(location, len(data), b"").headers["Lms-Media-Id"] == media_id


def test_head_of_an_upload_whose_bytes_are_gone_says_start_again(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    location = tus.create(10_000, course.slug, "a.pdf").headers["Location"]
    tus.patch(location, 0, pdf_bytes()[:100])
    upload, part = _part_file(location)
    part.unlink()
    assert tus.head(location).status_code == 410
    assert tus.head(location).status_code == 404  # and it is forgotten


def test_too_large_is_refused_before_any_byte_with_a_clear_message(client, auth, app):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    response = tus.create(5000, course.slug)
    assert response.status_code == 413
    assert "tối đa" in response.json["error"]
    assert db.session.scalar(sa.select(sa.func.count(Upload.id))) == 0


def test_html_renamed_mp4_is_rejected_and_discarded(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    page = b"<!doctype html><html><script>alert(1)</script></html>" + b" " * 5000
    response = tus.upload(page, course.slug, filename="bai-hoc.mp4")
    assert response.status_code == 415
    assert response.json["error"]
    assert db.session.scalar(sa.select(sa.func.count(MediaAsset.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Upload.id))) == 0


def test_svg_renamed_png_is_rejected(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>' + b" " * 5000
    assert tus.upload(svg, course.slug, filename="anh.png", purpose="image").status_code == 415


def test_a_photo_cannot_be_a_lesson_and_a_video_cannot_be_a_cover(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    assert tus.upload(png_bytes(), course.slug, filename="a.png", purpose="lesson").status_code == 415
    assert tus.upload(pdf_bytes(), course.slug, filename="a.pdf", purpose="cover").status_code == 415


def test_trainee_and_other_course_instructor_get_403(client, auth, app):
    course = make_course()
    owner = make_user(Role.INSTRUCTOR)
    courses.set_instructors(course, [owner])
    db.session.commit()
    auth.login(make_trainee().phone)
    tus = Tus(client, csrf_from(client.get("/account").get_data(as_text=True)))
    assert tus.create(100, course.slug).status_code == 403
    auth.logout()
    tus, _ = login_instructor(client, auth)  # an instructor of no course
    assert tus.create(100, course.slug).status_code == 403


def test_someone_elses_upload_cannot_be_resumed_or_read(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    location = tus.create(1000, course.slug).headers["Location"]
    auth.logout()
    other, _ = login_instructor(client, auth, course)
    assert other.head(location).status_code == 403
    assert other.patch(location, 0, b"x" * 10).status_code == 403


def test_upload_needs_login_and_csrf(client, auth, app):
    course = make_course()
    response = client.post("/api/v1/uploads/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert response.status_code in (400, 401)
    tus, _ = login_instructor(client, auth, course)
    tus.headers["X-CSRFToken"] = "forged"
    assert tus.create(100, course.slug).status_code == 400


def test_termination_deletes_the_partial_upload(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    location = tus.create(10_000, course.slug, "a.pdf").headers["Location"]
    tus.patch(location, 0, pdf_bytes()[:100])
    assert client.delete(location, headers=tus.headers).status_code == 204
    assert tus.head(location).status_code == 404


def test_dangerous_file_names_are_stored_safely_and_shown_escaped(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    evil = "../../etc/" + "<script>alert(1)</script>" + "\x00" + "a" * 300 + ".pdf"
    assert tus.upload(pdf_bytes(), course.slug, filename=evil).status_code == 204
    asset = db.session.scalar(sa.select(MediaAsset))
    assert "/" not in asset.original_filename and "\x00" not in asset.original_filename
    assert len(asset.original_filename) <= 200 and asset.original_filename.endswith(".pdf")
    assert asset.storage_key == f"media/{asset.public_id}/original.pdf"
    status = client.get(f"/api/v1/media/{asset.public_id}")
    assert status.json["filename"] == asset.original_filename  # JSON-escaped by jsonify


def test_video_is_processed_into_a_360p_rendition_and_poster(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    response = tus.upload(mp4_bytes(2.0, 640, 360), course.slug, filename="clip.mp4", chunk=50_000)
    assert response.status_code == 204
    asset = db.session.scalar(sa.select(MediaAsset))
    db.session.refresh(asset)
    assert asset.status == AssetStatus.READY, asset.failure_reason
    assert abs(asset.duration_s - 2.0) < 0.3
    assert {v.label for v in asset.variants} == {"poster", "360p"}  # 720p only for larger sources
    assert client.get(f"/api/v1/media/{asset.public_id}").json["status"] == "ready"


def test_corrupt_video_fails_with_a_reason_and_the_course_still_works(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    truncated = mp4_bytes(2.0)[:6000]
    assert tus.upload(truncated, course.slug, filename="hong.mp4").status_code == 204
    asset = db.session.scalar(sa.select(MediaAsset))
    db.session.refresh(asset)
    assert asset.status == AssetStatus.FAILED
    assert asset.failure_reason
    status = client.get(f"/api/v1/media/{asset.public_id}").json
    assert status["status"] == "failed" and status["failure"]
    assert client.get("/courses/viet-bai-ban-hang/lessons/bai-1").status_code == 200


def test_media_is_served_with_range_and_only_to_people_with_access(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    tus.upload(pdf_bytes(), course.slug, filename="Tài liệu.pdf")
    asset = db.session.scalar(sa.select(MediaAsset))
    url = f"/media/{asset.public_id}/original"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.mimetype == "application/pdf"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert "inline" in whole.headers.get("Content-Disposition", "inline")
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{asset.size_bytes}"
    assert part.data == whole.data[100:200]
    download = client.get(url + "?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    auth.logout()
    assert client.get(url).status_code == 404  # anonymous: not even told it exists
    course.status = type(course.status).DRAFT
    db.session.commit()
    auth.login(make_trainee().phone)
    assert client.get(url).status_code == 403  # a draft course's files are for its editors


def test_images_get_phone_sized_variants_used_in_lessons(client, auth, app):
    course = make_course(lessons=1)
    tus, _ = login_instructor(client, auth, course)
    tus.upload(png_bytes(1600, 1000), course.slug, filename="anh.png", purpose="image")
    asset = db.session.scalar(sa.select(MediaAsset))
    db.session.refresh(asset)
    assert asset.status == AssetStatus.READY, asset.failure_reason
    assert sorted(v.width for v in asset.variants) == [320, 640, 1280]
    lesson = courses.ordered_lessons(db.session.get(Course, course.id))[0]
    courses.set_lesson_body(lesson, f"Ảnh mẫu:\n\n![Ảnh](/media/{asset.public_id}/original)")
    db.session.commit()
    html = client.get("/courses/viet-bai-ban-hang/lessons/bai-1").get_data(as_text=True)
    assert f"/media/{asset.public_id}/w640" in html and "640w" in html and 'loading="lazy"' in html
    variant = client.get(f"/media/{asset.public_id}/w320")
    assert variant.status_code == 200 and variant.mimetype == "image/webp"
    assert not variant.data.startswith(PNG_HEADER)


def test_admin_sees_storage_per_course_and_total(client, auth, app):
    course = make_course()
    tus, _ = login_instructor(client, auth, course)
    data = pdf_bytes()
    tus.upload(data, course.slug, filename="a.pdf")
    auth.logout()
    auth.login(make_user(Role.ADMIN).phone)
    html = client.get("/admin/storage").get_data(as_text=True)
    assert course.title in html
    assert "KB" in html
    auth.logout()
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get("/admin/storage").status_code == 403
