"""Builders for learning tests."""

import uuid
from datetime import timedelta

from lms.core.db import utcnow
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import LessonKind
from lms.learning.services import ProgressEventData
from lms.media.models import AssetStatus, MediaAsset, MediaType


def add_video_lesson(course, slug="video-1", duration_s=100.0, required=True):
    """Add a video lesson whose (unstored) media has a known duration."""
    asset = MediaAsset(public_id=uuid.uuid4().hex[:22], course_id=course.id, media_type=MediaType.VIDEO,
                       mime="video/mp4", original_filename="v.mp4", storage_key=f"media/{slug}/original.mp4",
                       status=AssetStatus.READY, duration_s=duration_s)
    db.session.add(asset)
    lesson = courses.add_lesson(course.modules[0], title=f"Video {slug}", slug=slug, kind=LessonKind.VIDEO)
    lesson.media, lesson.required = asset, required
    db.session.commit()
    return lesson


def event(lesson, kind="position", minutes_ago=0, **fields):
    return ProgressEventData(id=str(uuid.uuid4()), lesson_id=lesson.id, kind=kind,
                             occurred_at=utcnow() - timedelta(minutes=minutes_ago), **fields)
