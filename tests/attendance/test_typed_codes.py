"""A check-in code typed offline counts as of the moment typed, checked against the screen's code then."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lms.attendance import checkin, services
from lms.attendance.models import AttendanceRecord, AttendanceStatus
from lms.core.extensions import db
from tests.conftest import csrf_token
from tests.factories import add_session_at, make_class

#: A session from 08:00 to 10:00 (UTC, to the second): check-in is open 07:30-10:30.
STARTS = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def held(app):
    cohort, _instructor, (huong, binh) = make_class()
    return add_session_at(cohort, STARTS), huong, binh


def _records():
    return list(db.session.scalars(sa.select(AttendanceRecord)))


def test_a_code_typed_offline_counts_as_of_the_moment_typed_when_it_arrives_hours_later(held):
    session, huong, _binh = held
    typed_at = STARTS + timedelta(minutes=3)
    result = services.check_in_with_typed_code(checkin.make_code(session, typed_at), huong, typed_at=typed_at,
                                               now=STARTS + timedelta(hours=6))
    assert result.record.status == AttendanceStatus.PRESENT  # on time when typed, though sent after the session
    late_at = STARTS + timedelta(minutes=25)
    late = services.check_in_with_typed_code(checkin.make_code(session, late_at), held[2], typed_at=late_at,
                                             now=STARTS + timedelta(hours=3))
    assert late.record.status == AttendanceStatus.LATE


def test_sending_it_again_changes_nothing(held):
    session, huong, _binh = held
    typed_at = STARTS + timedelta(minutes=3)
    code = checkin.make_code(session, typed_at)
    services.check_in_with_typed_code(code, huong, typed_at=typed_at, now=STARTS + timedelta(hours=1))
    again = services.check_in_with_typed_code(code, huong, typed_at=typed_at, now=STARTS + timedelta(hours=2))
    assert again.already and len(_records()) == 1


def test_a_time_ahead_of_the_server_is_taken_as_now(held):
    session, huong, _binh = held
    now = STARTS + timedelta(minutes=4)
    # The code on screen now, with a phone clock a day fast: judged at the server's now, so accepted.
    result = services.check_in_with_typed_code(checkin.make_code(session, now), huong,
                                               typed_at=now + timedelta(days=1), now=now)
    assert result.record.status == AttendanceStatus.PRESENT
    # A code only shown in the future cannot have been typed now, whatever the phone says.
    later = STARTS + timedelta(minutes=40)
    with pytest.raises(checkin.CheckInRefused):
        services.check_in_with_typed_code(checkin.make_code(session, later), held[2], typed_at=later, now=now)


def test_a_code_dated_before_it_was_shown_is_refused(held):
    session, huong, _binh = held
    shown_at = STARTS + timedelta(minutes=20)
    code = checkin.make_code(session, shown_at)
    with pytest.raises(checkin.InvalidCode):
        services.check_in_with_typed_code(code, huong, typed_at=shown_at - timedelta(seconds=2 * checkin.CODE_WINDOW_S),
                                          now=STARTS + timedelta(hours=1))
    # The window after it is still accepted, as online (typing takes time).
    services.check_in_with_typed_code(code, huong, typed_at=shown_at + timedelta(seconds=checkin.CODE_WINDOW_S),
                                      now=STARTS + timedelta(hours=1))


@pytest.mark.parametrize("typed_at", [STARTS - checkin.OPEN_BEFORE - timedelta(minutes=1),
                                      STARTS + timedelta(hours=2) + checkin.OPEN_AFTER + timedelta(minutes=1)])
def test_a_code_typed_outside_the_sessions_check_in_window_is_refused(held, typed_at):
    session, huong, _binh = held
    with pytest.raises(checkin.CheckInRefused):
        services.check_in_with_typed_code(checkin.make_code(session, typed_at), huong, typed_at=typed_at,
                                          now=typed_at + timedelta(minutes=5))
    assert _records() == []


def test_the_edges_of_the_window_are_inside(held):
    session, huong, binh = held
    opens, closes = STARTS - checkin.OPEN_BEFORE, STARTS + timedelta(hours=2) + checkin.OPEN_AFTER
    assert services.check_in_with_typed_code(checkin.make_code(session, opens), huong, typed_at=opens,
                                             now=closes).record.status == AttendanceStatus.PRESENT
    assert services.check_in_with_typed_code(checkin.make_code(session, closes), binh, typed_at=closes,
                                             now=closes).record.status == AttendanceStatus.LATE


def test_a_code_arriving_more_than_a_day_after_check_in_closed_is_refused(held):
    session, huong, _binh = held
    typed_at = STARTS + timedelta(minutes=3)
    closed = STARTS + timedelta(hours=2) + checkin.OPEN_AFTER
    with pytest.raises(checkin.CodeExpired):
        services.check_in_with_typed_code(checkin.make_code(session, typed_at), huong, typed_at=typed_at,
                                          now=closed + services.OFFLINE_SYNC_GRACE + timedelta(seconds=1))
    assert _records() == []


def test_the_api_checks_in_once_and_explains_a_refusal_in_vietnamese(held, client, auth, app):
    from lms.core.db import utcnow

    cohort = held[0].cohort
    session = add_session_at(cohort, utcnow() - timedelta(minutes=5))
    huong = held[1]
    body = {"id": str(uuid.uuid4()), "code": checkin.make_code(session), "typed_at": utcnow().isoformat()}
    assert client.post("/api/v1/check-ins", json=body).status_code == 401
    auth.login(huong.phone)
    token = csrf_token(client, "/check-in")
    assert client.post("/api/v1/check-ins", json=body).status_code == 400  # no CSRF token
    first = client.post("/api/v1/check-ins", json=body, headers={"X-CSRFToken": token})
    again = client.post("/api/v1/check-ins", json=body, headers={"X-CSRFToken": token})
    assert (first.status_code, first.json["status"]) == (200, "checked_in")
    assert (again.status_code, again.json["status"]) == (200, "already")
    assert len(_records()) == 1
    wrong = client.post("/api/v1/check-ins", headers={"X-CSRFToken": token},
                        json={**body, "id": str(uuid.uuid4()), "code": "12345"})
    assert wrong.status_code == 422 and wrong.json["detail"].startswith("Mã này không đúng")
    undated = client.post("/api/v1/check-ins", headers={"X-CSRFToken": token},
                          json={**body, "typed_at": "2026-12-07T08:00:00"})
    assert undated.status_code == 422 and undated.json["error"] == "invalid"
