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
