"""The 2-working-day clock on requests: Monday to Friday in Vietnam, ending at Vietnamese midnight."""

from datetime import UTC, datetime

import pytest

from lms.core.timezone import end_of_working_days
from lms.privacy import services
from lms.privacy.models import PrivacyRequest


def vn(text: str) -> datetime:
    """Return a Vietnamese wall-clock time ("2026-12-04 15:00") as a UTC moment."""
    from lms.core.timezone import VIETNAM

    return datetime.fromisoformat(text).replace(tzinfo=VIETNAM).astimezone(UTC)


@pytest.mark.parametrize(("received", "due"), [
    # 2026-12-07 is a Monday.
    ("2026-12-07 09:00", "2026-12-10 00:00"),  # Monday: Tuesday and Wednesday count
    ("2026-12-07 23:59:59", "2026-12-10 00:00"),  # still Monday in Vietnam
    ("2026-12-08 00:00", "2026-12-11 00:00"),  # Tuesday has begun in Vietnam (17:00 UTC Monday)
    ("2026-12-10 15:00", "2026-12-15 00:00"),  # Thursday: Friday, then Monday
    ("2026-12-11 15:00", "2026-12-16 00:00"),  # Friday: Monday and Tuesday
    ("2026-12-12 10:00", "2026-12-16 00:00"),  # Saturday
    ("2026-12-13 23:59:59", "2026-12-16 00:00"),  # Sunday's last second
    ("2026-12-14 00:00", "2026-12-17 00:00"),  # Monday's first second
])
def test_two_working_days_end_at_vietnamese_midnight(received, due):
    assert end_of_working_days(vn(received), 2) == vn(due)


def test_the_utc_date_does_not_decide_the_day():
    # 16:59 UTC on Friday is 23:59 Friday in Vietnam; 17:00 UTC is already Saturday there.
    friday_late = datetime(2026, 12, 11, 16, 59, tzinfo=UTC)
    saturday_early = datetime(2026, 12, 11, 17, 0, tzinfo=UTC)
    assert end_of_working_days(friday_late, 2) == end_of_working_days(saturday_early, 2) == vn("2026-12-16 00:00")
    thursday_late = datetime(2026, 12, 10, 16, 59, tzinfo=UTC)
    assert end_of_working_days(thursday_late, 2) == vn("2026-12-15 00:00")


def test_a_request_is_overdue_from_the_first_moment_after_its_last_day():
    req = PrivacyRequest(received_at=vn("2026-12-11 15:00"), due_at=services.acknowledgement_due(vn("2026-12-11 15:00")))
    assert services.last_day_to_acknowledge(req).isoformat() == "2026-12-15"  # Tuesday
    assert not services.is_overdue(req, vn("2026-12-15 23:59:59"))
    assert services.is_overdue(req, vn("2026-12-16 00:00"))


def test_an_acknowledged_request_is_never_overdue():
    req = PrivacyRequest(received_at=vn("2026-12-07 09:00"), due_at=vn("2026-12-10 00:00"),
                         acknowledged_at=vn("2026-12-09 10:00"))
    assert not services.is_overdue(req, vn("2026-12-20 00:00"))
