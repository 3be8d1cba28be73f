"""Stored in UTC, shown in Vietnam: the one owner of the project's time zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: The zone every date and time is shown in; Vietnam keeps no daylight saving time.
ZONE_NAME = "Asia/Ho_Chi_Minh"
VIETNAM = ZoneInfo(ZONE_NAME)


def to_local(moment: datetime) -> datetime:
    """Return a stored (UTC) moment as Vietnam's wall-clock time."""
    return moment.astimezone(VIETNAM)


def local_today(now: datetime | None = None) -> date:
    """Return today's date in Vietnam (or the date of `now` there)."""
    return (now or datetime.now(UTC)).astimezone(VIETNAM).date()


def local_moment(day: date, at: time) -> datetime:
    """Return the moment a Vietnamese wall clock shows `at` on `day`, in UTC."""
    return datetime.combine(day, at, tzinfo=VIETNAM).astimezone(UTC)


def start_of_local_day(day: date) -> datetime:
    """Return the moment `day` begins in Vietnam (midnight there), in UTC."""
    return local_moment(day, time.min)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a day in Vietnam."""
    return start_of_local_day(day), start_of_local_day(day + timedelta(days=1))


def end_of_working_days(moment: datetime, days: int) -> datetime:
    """Return when a period of `days` working days (Monday to Friday in Vietnam) after `moment` ends, in UTC.

    Counted as the Civil Code counts days: the day of `moment` itself does not count, the period
    ends at midnight (Vietnam) after its last working day. Received on a Friday at 15:00 or on the
    Saturday, 2 working days end when Wednesday begins. Public holidays are not known here.
    """
    day = local_today(moment)
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return start_of_local_day(day + timedelta(days=1))
