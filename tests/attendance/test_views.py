"""Attendance pages: roll call, the check-in screen, checking in by QR, code and card, and my attendance."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from lms.accounts.models import Role
from lms.attendance import checkin, services
from lms.attendance.models import AttendanceCard, AttendanceChange, AttendanceStatus, CheckInMethod
from lms.cohorts import services as cohorts
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.learning.panels import render_home_notices
from tests.attendance.helpers import add_session_at, log_in, make_class, session_now
from tests.factories import make_trainee, make_user


def status_of(session, user):
    record = services.get_record(session, user)
    return record.status if record else None


def pressed(html: str, user_id: int) -> list[str]:
    """Return the status buttons shown pressed in a trainee's roll-call row."""
    row = html.split(f'id="m-{user_id}"', 1)[1].split("</li>", 1)[0]
    return re.findall(r'value="(\w+)" aria-pressed="true"', row)


# --- Roll call ---------------------------------------------------------------------------------------


def test_roll_call_lists_the_class_with_counts_and_one_form_per_row(client, auth, app):
    cohort, instructor, (huong, binh) = make_class()
    session = session_now(cohort)
    services.record_attendance(session, huong, AttendanceStatus.LATE, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    log_in(client, auth, instructor)
    response = client.get(f"/sessions/{session.id}/roll-call")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nguyễn Thị Hường" in html and "Trần Văn Bình" in html
    assert pressed(html, huong.id) == ["late"] and pressed(html, binh.id) == []
    assert '<strong data-count="late">1</strong>' in html and '<strong data-count="not_marked">1</strong>' in html
    assert html.count(f'action="/sessions/{session.id}/attendance/') == 2
    assert "Mark everyone not yet marked as absent" in html


def test_a_tap_marks_then_changes_and_returns_to_the_row(client, auth, app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    token = log_in(client, auth, instructor)
    url = f"/sessions/{session.id}/attendance/{huong.id}"
    response = client.post(url, data={"csrf_token": token, "status": "present", "q": "huong"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sessions/{session.id}/roll-call?q=huong#m-{huong.id}"
    client.post(url, data={"csrf_token": token, "status": "excused"})
    assert status_of(session, huong) == AttendanceStatus.EXCUSED
    html = client.get(f"/sessions/{session.id}/roll-call").get_data(as_text=True)
    assert pressed(html, huong.id) == ["excused"]
    changes = db.session.scalars(sa.select(AttendanceChange).order_by(AttendanceChange.id)).all()
    assert [(c.old_status, c.new_status, c.changed_by_id) for c in changes] == [
        (None, AttendanceStatus.PRESENT, instructor.id), (AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED, instructor.id)]
    history = client.get(f"{url}/history").get_data(as_text=True)
    assert "Present → Excused" in history and "Not marked → Present" in history and "Lê Văn Giảng" in history
    assert "Roll call" in history


def test_a_tap_from_attendance_js_answers_json_with_the_counts(client, auth, app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    token = log_in(client, auth, instructor)
    response = client.post(f"/sessions/{session.id}/attendance/{huong.id}", data={"status": "late"},
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert response.status_code == 200
    assert response.json["status"] == "late" and response.json["counts"]["late"] == 1
    assert response.json["counts"]["not_marked"] == 1
    bad = client.post(f"/sessions/{session.id}/attendance/{huong.id}", data={"status": "asleep"},
                      headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert bad.status_code == 400 and status_of(session, huong) == AttendanceStatus.LATE


def test_taps_need_the_csrf_token(client, auth, app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    log_in(client, auth, instructor)
    assert client.post(f"/sessions/{session.id}/attendance/{huong.id}", data={"status": "present"}).status_code == 400
    assert status_of(session, huong) is None


def test_search_filters_by_name_without_tone_marks_and_escapes(client, auth, app):
    cohort, instructor, (huong, binh) = make_class()
    session = session_now(cohort)
    log_in(client, auth, instructor)
    html = client.get(f"/sessions/{session.id}/roll-call?q=HUONG").get_data(as_text=True)
    assert f'id="m-{huong.id}"' in html and f'id="m-{binh.id}"' not in html
    assert "1 of 2 trainees match" in html
    html = client.get(f"/sessions/{session.id}/roll-call", query_string={"q": "<script>x</script>"}).get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_mark_everyone_not_yet_marked_absent(client, auth, app):
    cohort, instructor, (huong, binh) = make_class()
    session = session_now(cohort)
    services.record_attendance(session, huong, AttendanceStatus.PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    token = log_in(client, auth, instructor)
    response = client.post(f"/sessions/{session.id}/roll-call", data={"csrf_token": token}, follow_redirects=True)
    assert "1 trainees marked absent." in response.get_data(as_text=True)
    assert (status_of(session, huong), status_of(session, binh)) == (AttendanceStatus.PRESENT, AttendanceStatus.ABSENT)


def test_trainees_and_other_instructors_cannot_take_attendance(client, auth, app):
    cohort, _instructor, (huong, binh) = make_class()
    session = session_now(cohort)
    pages = [f"/sessions/{session.id}", f"/sessions/{session.id}/roll-call", f"/sessions/{session.id}/check-in-screen",
             f"/sessions/{session.id}/check-in-code.json", f"/sessions/{session.id}/scan",
             f"/sessions/{session.id}/attendance/{binh.id}/history"]
    token = log_in(client, auth, huong)
    for page in pages:
        assert client.get(page).status_code == 403, page
    assert client.post(f"/sessions/{session.id}/attendance/{huong.id}",
                       data={"csrf_token": token, "status": "present"}).status_code == 403
    auth.logout()
    log_in(client, auth, make_user(Role.INSTRUCTOR, full_name="Giảng viên lớp khác"))
    for page in pages:
        assert client.get(page).status_code == 403, page
    assert client.get("/sessions/999999/roll-call").status_code == 404
    assert status_of(session, huong) is None


def test_organizers_may_take_attendance_for_any_class_but_only_of_its_trainees(client, auth, app):
    cohort, _instructor, (huong, _) = make_class()
    session = session_now(cohort)
    token = log_in(client, auth, make_user(Role.ORGANIZER))
    assert client.get(f"/sessions/{session.id}/roll-call").status_code == 200
    outsider = make_trainee()
    assert client.post(f"/sessions/{session.id}/attendance/{outsider.id}",
                       data={"csrf_token": token, "status": "present"}).status_code == 404


def test_session_page_links_the_three_ways_and_counts(client, auth, app):
    cohort, instructor, _ = make_class()
    session = session_now(cohort)
    log_in(client, auth, instructor)
    html = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    for path in ("roll-call", "check-in-screen", "scan"):
        assert f'href="/sessions/{session.id}/{path}"' in html
    assert '<strong data-count="not_marked">2</strong>' in html
    today = client.get("/sessions/today").get_data(as_text=True)
    assert f'href="/sessions/{session.id}"' in today


# --- The check-in screen and checking in by QR ------------------------------------------------------


def test_check_in_screen_shows_a_qr_and_the_current_code(client, auth, app):
    cohort, instructor, _ = make_class()
    session = session_now(cohort)
    log_in(client, auth, instructor)
    html = client.get(f"/sessions/{session.id}/check-in-screen").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in html
    assert '<meta http-equiv="refresh"' in html
    state = client.get(f"/sessions/{session.id}/check-in-code.json").json
    assert state["open"] and state["url"].startswith("http://localhost/check-in/v1.")
    assert state["code"] in {checkin.make_code(session, utcnow() - timedelta(seconds=5)), checkin.make_code(session)}
    assert checkin.verify_token(state["url"].rsplit("/", 1)[1]) == session
    assert 1 <= state["refresh_in"] <= 31


def test_check_in_screen_waits_outside_the_session_time(client, auth, app):
    cohort, instructor, _ = make_class()
    session = add_session_at(cohort, utcnow() + timedelta(hours=5))
    log_in(client, auth, instructor)
    state = client.get(f"/sessions/{session.id}/check-in-code.json").json
    assert not state["open"] and "code" not in state
    assert "Check-in is open from" in client.get(f"/sessions/{session.id}/check-in-screen").get_data(as_text=True)


def test_scanning_the_class_qr_checks_in_with_a_big_confirmation(client, auth, app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    log_in(client, auth, huong)
    response = client.get(f"/check-in/{checkin.make_token(session)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "You are checked in" in html and "Present" in html
    again = client.get(f"/check-in/{checkin.make_token(session)}").get_data(as_text=True)
    assert "You were already checked in" in again
    assert db.session.scalar(sa.select(sa.func.count(AttendanceChange.id))) == 1


def test_qr_refusals_are_explained(client, auth, app):
    cohort, _, (huong, _) = make_class()
    other_cohort, _, _ = make_class(trainees=())
    session, elsewhere = session_now(cohort), session_now(other_cohort)
    log_in(client, auth, huong)
    expired = client.get(f"/check-in/{checkin.make_token(session, utcnow() - timedelta(minutes=2))}")
    assert expired.status_code == 400 and "has expired" in expired.get_data(as_text=True)
    stranger = client.get(f"/check-in/{checkin.make_token(elsewhere)}")
    assert stranger.status_code == 403 and "You are not on the list of this class" in stranger.get_data(as_text=True)
    forged = client.get(f"/check-in/v1.{session.id}.{checkin.window_of(utcnow())}.0123456789abcdef")
    assert forged.status_code == 400 and "not valid" in forged.get_data(as_text=True)
    cohorts.cancel_session(session, "")
    db.session.commit()
    cancelled = client.get(f"/check-in/{checkin.make_token(session)}")
    assert cancelled.status_code == 400 and "cancelled" in cancelled.get_data(as_text=True)
    assert status_of(session, huong) is None


def test_a_trainee_who_must_log_in_first_is_still_checked_in_after_the_code_rotates(client, auth, app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    token = checkin.make_token(session)
    first = client.get(f"/check-in/{token}")
    assert first.status_code == 302 and urlsplit(first.headers["Location"]).path == "/login"
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert next_url.startswith(f"/check-in/{token}?seen=")
    # Typing the phone number and password took two minutes: the QR token itself has expired.
    seen_earlier = checkin.stamp_seen(token, utcnow() - timedelta(minutes=2))
    stale = checkin.make_token(session, utcnow() - timedelta(minutes=2))
    auth.login(huong.phone)
    assert client.get(f"/check-in/{stale}").status_code == 400
    seen_stale = checkin.stamp_seen(stale, utcnow() - timedelta(minutes=2))
    assert client.get(f"/check-in/{stale}", query_string={"seen": seen_stale}).status_code == 200
    assert status_of(session, huong) == AttendanceStatus.PRESENT
    # A stamp for another token, or a made-up one, proves nothing.
    assert client.get(f"/check-in/{stale}", query_string={"seen": seen_earlier}).status_code == 400
    assert client.get(f"/check-in/{stale}", query_string={"seen": "forged"}).status_code == 400


def test_anonymous_visitors_get_no_login_detour_for_a_bad_code(client, app):
    cohort, _, _ = make_class()
    session = session_now(cohort)
    response = client.get(f"/check-in/{checkin.make_token(session, utcnow() - timedelta(minutes=5))}")
    assert response.status_code == 400


# --- Typing the 6-digit code ----------------------------------------------------------------------------


def test_typing_the_code_checks_in(client, auth, app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort, started_minutes_ago=20)
    token = log_in(client, auth, huong)
    page = client.get("/check-in").get_data(as_text=True)
    assert 'inputmode="numeric"' in page and "Lớp gốm Phú Xuyên" in page
    code = checkin.make_code(session)
    response = client.post("/check-in", data={"csrf_token": token, "code": f"{code[:3]} {code[3:]}"})
    html = response.get_data(as_text=True)
    assert "You are checked in" in html and "Late" in html
    record = services.get_record(session, huong)
    assert record.status == AttendanceStatus.LATE and record.method == CheckInMethod.SELF_CODE


def test_a_wrong_code_is_explained_and_guessing_is_rate_limited(client, auth, app):
    cohort, _, (huong, _) = make_class()
    session = session_now(cohort)
    token = log_in(client, auth, huong)
    valid = {checkin.make_code(session, utcnow() - timedelta(seconds=s)) for s in range(0, 700, 30)}
    guesses = (f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in valid)
    statuses = []
    for _ in range(11):
        response = client.post("/check-in", data={"csrf_token": token, "code": next(guesses)})
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert "This code is not right" in response.get_data(as_text=True)
    assert statuses == [200] * 10 + [429]
    # Even the right code waits for the window to pass.
    assert client.post("/check-in", data={"csrf_token": token, "code": checkin.make_code(session)}).status_code == 429
    assert status_of(session, huong) is None


def test_the_code_limit_is_per_trainee(client, auth, app):
    app.config["CHECK_IN_CODE_LIMIT"] = "2 per minute"
    cohort, _, (huong, binh) = make_class()
    session = session_now(cohort)
    token = log_in(client, auth, huong)
    for _ in range(2):
        client.post("/check-in", data={"csrf_token": token, "code": "abc"})
    assert client.post("/check-in", data={"csrf_token": token, "code": "abc"}).status_code == 429
    auth.logout()
    token = log_in(client, auth, binh)
    response = client.post("/check-in", data={"csrf_token": token, "code": checkin.make_code(session)})
    assert response.status_code == 200 and status_of(session, binh) == AttendanceStatus.PRESENT


# --- Cards ---------------------------------------------------------------------------------------------------


def test_my_card_is_made_on_first_view_and_can_be_replaced(client, auth, app):
    _cohort, _, (huong, _) = make_class()
    token = log_in(client, auth, huong)
    html = client.get("/my/attendance-card").get_data(as_text=True)
    card = services.card_of(huong)
    assert card.token in html and 'src="data:image/svg+xml;base64,' in html and "Nguyễn Thị Hường" in html
    client.get("/my/attendance-card")
    assert db.session.scalar(sa.select(sa.func.count(AttendanceCard.id))) == 1
    client.post("/my/attendance-card", data={"csrf_token": token})
    assert services.card_of(huong).token != card.token


def test_instructor_scans_a_card(client, auth, app):
    cohort, instructor, (huong, _) = make_class()
    session = session_now(cohort)
    card = services.issue_card(huong)
    revoked = services.issue_card(make_trainee())
    services.replace_card(db.session.get(type(huong), revoked.user_id))
    outsider = services.issue_card(make_trainee())
    db.session.commit()
    token = log_in(client, auth, instructor)
    page = client.get(f"/sessions/{session.id}/scan").get_data(as_text=True)
    assert 'name="card"' in page and "data-scanner" in page
    response = client.post(f"/sessions/{session.id}/scan", data={"csrf_token": token, "card": card.token},
                           follow_redirects=True)
    assert "Nguyễn Thị Hường: Present." in response.get_data(as_text=True)
    assert services.get_record(session, huong).method == CheckInMethod.CARD_SCAN
    again = client.post(f"/sessions/{session.id}/scan", data={"card": card.token},
                        headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert again.json["ok"] and again.json["already"] and again.json["counts"]["attended"] == 1
    refused = client.post(f"/sessions/{session.id}/scan", data={"card": outsider.token},
                          headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert refused.status_code == 400 and "not on the list" in refused.json["message"]
    old = client.post(f"/sessions/{session.id}/scan", data={"csrf_token": token, "card": revoked.token},
                      follow_redirects=True)
    assert "no longer works" in old.get_data(as_text=True)


# --- Trainees' own attendance ------------------------------------------------------------------------------


def test_trainees_see_only_their_own_attendance(client, auth, app):
    cohort, instructor, (huong, binh) = make_class()
    cohort.course.attendance_required_percent = 75
    past = [add_session_at(cohort, utcnow() - timedelta(days=d), minutes=90) for d in (2, 1)]
    add_session_at(cohort, utcnow() + timedelta(days=3))
    services.record_attendance(past[0], huong, AttendanceStatus.PRESENT, by=instructor, method=CheckInMethod.ROLL_CALL)
    for session in past:
        services.record_attendance(session, binh, AttendanceStatus.EXCUSED, by=instructor,
                                   method=CheckInMethod.ROLL_CALL)
    db.session.commit()
    log_in(client, auth, huong)
    html = client.get("/my/attendance").get_data(as_text=True)
    assert "Lớp gốm Phú Xuyên" in html and "50%" in html and "Attended 1 of 2 sessions" in html
    assert "Present" in html and "Not yet marked" in html and "Upcoming" in html
    assert "at least 75%" in html
    assert "Excused</span>" not in html and "Trần Văn Bình" not in html
    assert client.get(f"/sessions/{past[0].id}/attendance/{binh.id}/history").status_code == 403


def test_home_notice_shows_todays_class_with_a_check_in_button_while_it_is_on(client, auth, app):
    cohort, _, (huong, _) = make_class()
    log_in(client, auth, huong)
    with app.test_request_context():  # only the "you joined the class" message, no class today
        assert [n for n in render_home_notices(huong) if "att-today" in n] == []
    session_now(cohort)
    with app.test_request_context():
        (notice,) = [n for n in render_home_notices(huong) if "att-today" in n]
    assert 'href="/check-in"' in notice and "Lớp gốm Phú Xuyên" in notice
    client.get(f"/check-in/{checkin.make_token(cohort.sessions[0])}")
    with app.test_request_context():
        (notice,) = [n for n in render_home_notices(huong) if "att-today" in n]
    assert 'href="/check-in"' not in notice


# --- The session page links what can be printed ------------------------------------------------------------


def test_session_page_links_the_sign_in_sheet_for_organizer_and_instructor(app):
    from tests.conftest import AuthActions

    cohort, instructor, _ = make_class()
    session = session_now(cohort)
    organizer = make_user(Role.ORGANIZER, full_name="Phạm Tổ Chức")
    for user, sees_csv in ((instructor, False), (organizer, True)):
        client = app.test_client()
        log_in(client, AuthActions(client), user)
        html = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        link = re.search(r'href="([^"]+)" data-sign-in-sheet', html)
        assert link and link.group(1) == f"/sessions/{session.id}/sign-in-sheet.pdf"
        pdf = client.get(link.group(1))
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
        assert (f'href="/cohorts/{cohort.code}/attendance.csv"' in html) is sees_csv
