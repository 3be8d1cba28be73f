"""The audit log: who reached whose personal data, readable and exportable by admins only, never changed."""

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from python_calamine import CalamineWorkbook

from lms.accounts.models import Role
from lms.audit.models import AuditAction, AuditEvent, AuditLogIsAppendOnly, AuditObject
from lms.audit.services import record_event
from lms.core.extensions import db
from lms.courses import services as courses
from tests.conftest import csrf_token
from tests.factories import make_class, make_course, make_organizer, make_trainee, make_user


def _events() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def _at(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _logged(actor, action, *, subject=None, when=None, object_ref="") -> AuditEvent:
    if when is None:
        event = record_event(action, actor, subject_id=subject.id if subject else None, object_ref=object_ref)
    else:
        # An event of another day, written as record_event writes one.
        event = AuditEvent(action=action, actor_id=actor.id, actor_roles=",".join(sorted(actor.roles)),
                           subject_id=subject.id if subject else None, object_ref=object_ref, occurred_at=when)
        db.session.add(event)
    db.session.commit()
    return event


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.INSTRUCTOR, Role.ORGANIZER])
def test_only_admins_open_the_audit_log(client, auth, app, role):
    person = make_user(role)
    assert client.get("/admin/audit").status_code == 302  # anonymous: to the login page
    auth.login(person.phone)
    for path in ("/admin/audit", "/admin/audit.xlsx", "/admin/audit.csv"):
        assert client.get(path).status_code == 403
    assert _events() == []  # a refused export is no export


def test_the_menu_of_an_admin_links_the_audit_log_and_no_one_elses_does(client, auth, app):
    admin, organizer = make_user(Role.ADMIN), make_organizer()
    # Both land on the programme's dashboard: its menu is the one to read.
    auth.login(organizer.phone)
    assert "/admin/audit" not in client.get("/", follow_redirects=True).get_data(as_text=True)
    auth.logout()
    auth.login(admin.phone)
    assert "/admin/audit" in client.get("/", follow_redirects=True).get_data(as_text=True)
    assert client.get("/admin/audit").status_code == 200


def test_revealing_a_phone_is_an_event_naming_both_accounts_by_id(client, auth, app):
    teacher = make_user(Role.INSTRUCTOR)
    course = make_course("ban-hang-online")
    courses.set_instructors(course, [teacher])
    learner = make_trainee(enrolled_in=course, phone="0912555001")
    db.session.commit()
    auth.login(teacher.phone)
    token = csrf_token(client, f"/users/{learner.id}")
    client.post(f"/users/{learner.id}/phone", data={"csrf_token": token, "client_address": "forged"})
    [event] = _events()
    assert (event.action, event.actor_id, event.subject_id, event.actor_roles) == (
        AuditAction.REVEALED_PHONE, teacher.id, learner.id, "instructor")
    assert event.client_address == "127.0.0.1"
    assert "0912555001" not in event.object_ref


def test_an_attendance_export_and_a_password_reset_are_events(client, auth, app):
    cohort, _instructor, (trainee, _other) = make_class()
    organizer = make_organizer()
    auth.login(organizer.phone)
    assert client.get(f"/cohorts/{cohort.code}/attendance.csv").status_code == 200
    token = csrf_token(client, f"/users/{trainee.id}/reset-password")
    client.post(f"/users/{trainee.id}/reset-password", data={"csrf_token": token, "confirm": "yes"})
    exported, reset = _events()
    assert (exported.action, exported.actor_id, exported.subject_id) == (AuditAction.EXPORTED_LIST, organizer.id, None)
    assert (exported.object_kind, exported.object_ref) == (AuditObject.ATTENDANCE, f"{cohort.code} · csv")
    assert (reset.action, reset.subject_id, reset.actor_roles) == (AuditAction.RESET_PASSWORD, trainee.id, "organizer")


def test_no_event_can_be_changed_or_deleted(app):
    admin, trainee = make_user(Role.ADMIN), make_trainee()
    event = _logged(admin, AuditAction.REVEALED_PHONE, subject=trainee)
    event.subject_id = admin.id
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(event)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    for statement in (sa.update(AuditEvent).values(subject_id=None), sa.delete(AuditEvent)):
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.execute(statement)
        db.session.rollback()
    assert [(e.actor_id, e.subject_id) for e in _events()] == [(admin.id, trainee.id)]


def test_no_route_changes_an_event(client, auth, app):
    admin = make_user(Role.ADMIN)
    event = _logged(admin, AuditAction.EXPORTED_LIST, object_ref="cohort PX-01")
    auth.login(admin.phone)
    token = csrf_token(client, "/admin/audit")
    for method in ("post", "put", "delete", "patch"):
        for path in ("/admin/audit", f"/admin/audit/{event.id}"):
            assert getattr(client, method)(path, data={"csrf_token": token}).status_code in (404, 405)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert {m for r in rules for m in r.methods} <= {"GET", "HEAD", "OPTIONS"}


def _spread(admin):
    """Events of two actors over three Vietnam days; return (organizer, trainee)."""
    organizer, trainee = make_organizer(), make_trainee()
    # 17:30 UTC on 1 December is already 2 December in Vietnam.
    _logged(organizer, AuditAction.EXPORTED_LIST, when=_at(2026, 12, 1, 16, 30), object_ref="cohort PX-01")
    _logged(organizer, AuditAction.EXPORTED_LIST, when=_at(2026, 12, 1, 17, 30), object_ref="cohort PX-02")
    _logged(organizer, AuditAction.RESET_PASSWORD, subject=trainee, when=_at(2026, 12, 2, 3))
    _logged(admin, AuditAction.EXPORTED_LIST, when=_at(2026, 12, 3, 3), object_ref="certificate register csv")
    return organizer, trainee


def test_filters_take_vietnam_days_and_the_exports_match_the_screen(client, auth, app):
    admin = make_user(Role.ADMIN, full_name="Trần Quản Trị")
    organizer, trainee = _spread(admin)
    auth.login(admin.phone)
    wanted = {"date_from": "2026-12-02", "date_to": "2026-12-02", "action": "exported_list",
              "actor": str(organizer.id)}
    page = client.get("/admin/audit", query_string=wanted).get_data(as_text=True)
    assert "cohort PX-02" in page and "cohort PX-01" not in page and "certificate register" not in page
    assert "1 sự kiện" in page

    rows = list(csv.reader(io.StringIO(client.get("/admin/audit.csv", query_string=wanted).get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    assert [row[7] for row in rows[1:]] == ["cohort PX-02"]
    assert rows[1][0] == "2026-12-02 00:30" and rows[1][1] == str(organizer.id)

    response = client.get("/admin/audit.xlsx", query_string={"subject": str(trainee.id)})
    assert response.headers["Cache-Control"] == "private, no-store"
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.data))
    values = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert len(values) == 2 and values[1][4] == "Đặt lại mật khẩu" and values[1][5] == trainee.id

    exports = [e for e in _events() if e.object_kind == AuditObject.AUDIT_LOG]
    assert [(e.actor_id, e.object_ref) for e in exports] == [(admin.id, "csv"), (admin.id, "xlsx")]
    # Each export shows the log as its screen did: without the export's own event.
    everything = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "Nhật ký truy cập dữ liệu: csv" in everything and everything.count("\n") == 1 + 6


def test_bad_filters_get_a_vietnamese_message_not_an_error(client, auth, app):
    admin = make_user(Role.ADMIN)
    auth.login(admin.phone)
    response = client.get("/admin/audit", query_string={"date_from": "2026-12-05", "date_to": "2026-12-01",
                                                         "actor": "abc", "action": "nonsense", "page": "2"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ngày kết thúc không được trước ngày bắt đầu." in page and "Hãy nhập một số nguyên." in page
    assert client.get("/admin/audit.csv", query_string={"date_from": "hôm qua"}).status_code == 200


def test_a_reading_request_that_records_an_event_is_a_programming_error(app):
    """A GET recording an event must begin as a writer (@writes_database): SQLite answered such downloads 503 under load."""
    import pytest

    from lms.audit.models import AuditAction
    from lms.audit.services import record_event

    with app.test_request_context("/my/data", method="GET"), pytest.raises(RuntimeError, match="writes_database"):
        record_event(AuditAction.DOWNLOADED_OWN_DATA, None)
    with app.test_request_context("/my/data.json", method="GET"):  # a view marked as writing
        assert record_event(AuditAction.DOWNLOADED_OWN_DATA, None).id
