import pytest

from lms.courses import services
from lms.courses.markdown import render_markdown
from tests.factories import make_course


def test_slugify_folds_vietnamese():
    assert services.slugify("Viết bài bán hàng trên mạng xã hội") == "viet-bai-ban-hang-tren-mang-xa-hoi"
    assert services.slugify("Đặt hàng!!") == "dat-hang"


def test_course_and_lesson_addresses_are_unique(app):
    course = make_course()
    with pytest.raises(services.SlugTaken):
        services.create_course(title="Khác", slug="viet-bai-ban-hang")
    with pytest.raises(services.SlugTaken):
        services.add_lesson(course.modules[0], title="Trùng", slug="bai-1")


def test_lessons_are_ordered_across_modules(app):
    course = make_course(lessons=2)
    second = services.add_module(course, "Phần hai")
    services.add_lesson(second, title="Bài cuối", slug="bai-cuoi")
    slugs = [lesson.slug for lesson in services.ordered_lessons(course)]
    assert slugs == ["bai-1", "bai-2", "bai-cuoi"]
    first, last = services.ordered_lessons(course)[0], services.ordered_lessons(course)[-1]
    assert services.neighbours(course, first) == (None, services.ordered_lessons(course)[1])
    assert services.neighbours(course, last)[1] is None


def test_markdown_keeps_tables_and_links_safe():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n[Zalo](https://zalo.me/x)")
    assert "<table>" in html
    assert 'href="https://zalo.me/x"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def _outline_slugs(course):
    return [item.slug for item in services.lesson_outline(course)]


def test_lesson_outline_follows_every_change_to_the_course(app):
    from lms.core.extensions import db

    course = make_course(lessons=3)
    db.session.commit()
    assert _outline_slugs(course) == [lesson.slug for lesson in services.ordered_lessons(course)] == ["bai-1", "bai-2", "bai-3"]
    first, second, third = services.ordered_lessons(course)

    def after(change):
        change()
        db.session.commit()
        db.session.expire_all()  # the next request reads the course row afresh
        return services.lesson_outline(course)

    assert [i.slug for i in after(lambda: services.move_lesson(third, "up"))] == ["bai-1", "bai-3", "bai-2"]
    assert [i.title for i in after(lambda: services.update_lesson(first, title="Mở đầu mới", body_markdown="x",
                                                                   required=False))][0] == "Mở đầu mới"
    assert services.lesson_outline(course)[0].required is False
    assert [i.slug for i in after(lambda: services.archive_lesson(second))] == ["bai-1", "bai-3"]
    part = services.add_module(course, "Phần hai")
    assert [i.slug for i in after(lambda: services.add_lesson(part, title="Bài cuối"))][-1] == "bai-cuoi"
    assert [i.slug for i in after(lambda: services.move_module(part, "up"))] == ["bai-cuoi", "bai-1", "bai-3"]


def test_lesson_outline_is_reread_when_another_process_changed_the_course(app):
    import sqlalchemy as sa

    from lms.core.extensions import db

    course = make_course(lessons=2)
    db.session.commit()
    assert _outline_slugs(course) == ["bai-1", "bai-2"]
    # Another worker renames a lesson: it commits the lesson and the course's new updated_at.
    with db.engine.begin() as other:
        other.execute(sa.text("UPDATE lessons SET title = 'Đổi tên' WHERE slug = 'bai-2'"))
        other.execute(sa.text("UPDATE courses SET updated_at = :now"), {"now": _a_moment_later()})
    db.session.rollback()  # the next request: a new transaction sees what others committed
    db.session.expire_all()
    assert services.lesson_outline(course)[1].title == "Đổi tên"


def _a_moment_later():
    from datetime import timedelta

    from lms.core.db import utcnow

    return (utcnow() + timedelta(seconds=1)).replace(tzinfo=None)
