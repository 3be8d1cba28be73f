"""Issue 13, item 6: a class QR scanned logged out checks in the browser that scanned it, once, and only just after.

The attacks: the link a logged-out scan returns to after login used to check in any member who opened it
for 10 minutes after the code expired, from any phone, as many times as it was shared.
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from lms.attendance import checkin, services
from lms.attendance.models import AttendanceStatus, CheckInMethod
from lms.core.db import utcnow
from tests.conftest import AuthActions
from tests.factories import log_in_in_english, make_class, session_now

#: Longer than any token's own validity (at most 2 windows of 30 s) plus the 2-minute login allowance.
PAST_THE_ALLOWANCE = timedelta(minutes=4)
#: Longer than any token's own validity, well within the allowance after it.
TOKEN_ROTATED = timedelta(seconds=90)


class Clock:
    """Attendance's clock, moved forward as if the trainee were still typing their password."""

    def __init__(self):
        self.offset = timedelta(0)

    def now(self):
        return utcnow() + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(checkin, "utcnow", clock.now)
    monkeypatch.setattr(services, "utcnow", clock.now)
    return clock


def status_of(session, user):
    record = services.get_record(session, user)
    return record.status if record else None


def scan_logged_out(client, token: str) -> str:
    """Open the QR's address logged out, as a phone's camera does; return where login sends the trainee."""
    response = client.get(f"/check-in/{token}")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    return parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]


def test_a_scan_redeemed_after_the_codes_window_and_the_login_allowance_is_refused(client, auth, app, clock):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    after_login = scan_logged_out(client, checkin.make_token(session))
    log_in_in_english(client, auth, huong)
    clock.advance(PAST_THE_ALLOWANCE)
    response = client.get(after_login)
    assert response.status_code == 400 and "has expired" in response.get_data(as_text=True)
    assert status_of(session, huong) is None


def test_a_scan_from_one_browser_cannot_be_redeemed_from_another(client, auth, app, clock):
    cohort, _, (huong, binh) = make_class()
    session = session_now(cohort)
    after_login = scan_logged_out(client, checkin.make_token(session))
    # Huong sends the link her phone got to Binh, who is at home and logged in.
    binh_phone = app.test_client()
    log_in_in_english(binh_phone, AuthActions(binh_phone), binh)
    clock.advance(TOKEN_ROTATED)
    refused = binh_phone.get(after_login)
    assert refused.status_code == 400 and "has expired" in refused.get_data(as_text=True)
    assert status_of(session, binh) is None
    # Logged out, his phone gets no second chance at the expired code either.
    stranger = app.test_client()
    assert stranger.get(after_login).status_code == 400
    # Huong herself, on the phone that scanned, is still in time.
    auth.login(huong.phone)
    assert client.get(after_login).status_code == 200
    assert status_of(session, huong) == AttendanceStatus.PRESENT


def test_one_scan_checks_in_one_member_once(client, auth, app, clock):
    cohort, _, (huong, binh) = make_class()
    session = session_now(cohort)
    after_login = scan_logged_out(client, checkin.make_token(session))
    auth.login(huong.phone)
    clock.advance(TOKEN_ROTATED)
    assert client.get(after_login).status_code == 200
    assert status_of(session, huong) == AttendanceStatus.PRESENT
    # The shared phone is handed to Binh, who logs in and opens the same address again.
    auth.logout()
    log_in_in_english(client, auth, binh)
    again = client.get(after_login)
    assert again.status_code == 400 and "has expired" in again.get_data(as_text=True)
    assert status_of(session, binh) is None


def test_a_scan_of_one_class_does_not_redeem_a_link_of_another(client, auth, app, clock):
    cohort, _, (huong, _) = make_class()
    other_cohort, _, _ = make_class(trainees=())
    session, elsewhere = session_now(cohort), session_now(other_cohort)
    scan_logged_out(client, checkin.make_token(session))
    # Her phone holds a pass for her own class's session only; a friend's link is for another session.
    friends_token = checkin.make_token(elsewhere)
    friends_link = f"/check-in/{friends_token}?seen={checkin.stamp_seen(friends_token)}"
    log_in_in_english(client, auth, huong)
    clock.advance(TOKEN_ROTATED)
    response = client.get(friends_link)
    assert response.status_code == 400 and "has expired" in response.get_data(as_text=True)
    assert status_of(elsewhere, huong) is None


def test_scanning_logged_in_still_checks_in(client, auth, app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    auth.login(huong.phone)
    response = client.get(f"/check-in/{checkin.make_token(session)}")
    assert response.status_code == 200
    record = services.get_record(session, huong)
    assert record.status == AttendanceStatus.PRESENT and record.method == CheckInMethod.SELF_QR


def test_scanning_logged_out_then_logging_in_within_the_allowance_still_checks_in(client, auth, app, clock):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort, started_minutes_ago=9)
    token = checkin.make_token(session)
    first = client.get(f"/check-in/{token}")
    # The scan leaves this browser a pass the page's scripts cannot read.
    cookie = first.headers.get("Set-Cookie", "")
    assert f"{checkin.SCAN_COOKIE}=" in cookie and "HttpOnly" in cookie
    after_login = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    # The login page says how long she has, in Vietnamese.
    assert "trong vòng 2 phút để hoàn tất điểm danh" in client.get("/login").get_data(as_text=True)
    auth.login(huong.phone)
    # Two minutes of typing: the token itself has expired, and the session is now more than 10 minutes on.
    clock.advance(timedelta(minutes=2))
    response = client.get(after_login)
    assert response.status_code == 200
    # Present, as of the scan, not late as of the login.
    assert status_of(session, huong) == AttendanceStatus.PRESENT
    assert client.get_cookie(checkin.SCAN_COOKIE) is None


@pytest.mark.parametrize("seen", ["", "forged", "eyJ0IjoiIn0.x.y"])
@pytest.mark.parametrize("scan_pass", [None, "forged", "eyJzIjoxfQ.x.y"])
def test_forged_stamps_and_passes_are_refused_with_the_usual_message(client, auth, app, seen, scan_pass):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    stale = checkin.make_token(session, utcnow() - timedelta(minutes=2))
    log_in_in_english(client, auth, huong)
    if scan_pass is not None:
        client.set_cookie(checkin.SCAN_COOKIE, scan_pass)
    response = client.get(f"/check-in/{stale}", query_string={"seen": seen})
    assert response.status_code == 400 and "has expired" in response.get_data(as_text=True)
    assert status_of(session, huong) is None


def test_forged_malformed_and_expired_tokens_are_refused_logged_out_in_vietnamese(client, app):
    cohort, _, _ = make_class()
    session = session_now(cohort)
    for token in (f"v1.{session.id}.{checkin.window_of(utcnow())}.0123456789abcdef", "v1.x.y.z", "v2.1.2.3",
                  f"v1.{session.id}.{'9' * 12}.0123456789abcdef"):
        response = client.get(f"/check-in/{token}")
        assert response.status_code == 400, token
        assert "Mã điểm danh này không hợp lệ" in response.get_data(as_text=True), token
    expired = client.get(f"/check-in/{checkin.make_token(session, utcnow() - timedelta(minutes=2))}")
    assert expired.status_code == 400 and "Mã điểm danh này đã hết hạn" in expired.get_data(as_text=True)
    # No pass for a code that was never valid.
    assert client.get_cookie(checkin.SCAN_COOKIE) is None
