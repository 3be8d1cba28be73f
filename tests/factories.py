"""Small factories that build test data through the services."""

import itertools

from lms.accounts import services as accounts
from lms.accounts.models import Role, User
from lms.core.extensions import db
from lms.courses import services as courses
from lms.courses.models import Course, CourseStatus

DEFAULT_PASSWORD = "secret-pass-1"
CHUYEN_MY = 10330
_phones = itertools.count(1)


def next_phone() -> str:
    """Return a fresh valid mobile number."""
    return f"0912{next(_phones):06d}"


def make_user(*roles: Role, password: str | None = DEFAULT_PASSWORD, commit=True, **fields) -> User:
    fields.setdefault("full_name", "Nguyễn Thị Hường")
    fields.setdefault("phone", next_phone())
    fields.setdefault("commune_code", CHUYEN_MY)
    user = accounts.create_user(roles=set(roles) or {Role.TRAINEE}, password=password, **fields)
    if commit:
        db.session.commit()
    return user


def make_trainee(enrolled_in: Course | list[Course] | None = None, **fields) -> User:
    """Create a trainee, enrolled in the given course(s)."""
    from lms.learning.services import enrol

    trainee = make_user(Role.TRAINEE, **fields)
    for course in ([enrolled_in] if isinstance(enrolled_in, Course) else enrolled_in or []):
        enrol(trainee, course)
    db.session.commit()
    return trainee


def make_course(
    slug: str = "viet-bai-ban-hang",
    *,
    status: CourseStatus = CourseStatus.PUBLISHED,
    lessons: int = 3,
    commit=True,
) -> Course:
    """Create a course with one module and a few text lessons."""
    course = courses.create_course(title=f"Khoá {slug}", slug=slug, summary="Tóm tắt", status=status)
    module = courses.add_module(course, "Phần một")
    for i in range(1, lessons + 1):
        courses.add_lesson(module, title=f"Bài {i}", slug=f"bai-{i}", body_markdown=f"Nội dung **bài {i}**.")
    if commit:
        db.session.commit()
    return course
