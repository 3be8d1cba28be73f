"""Roles given and lists taken from the command line are audit events too, by no account; so are staff made on the form."""

import sqlalchemy as sa

from lms.accounts.models import Role, User
from lms.audit.models import AuditAction, AuditEvent, AuditObject
from lms.core.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_trainee, make_user


def test_staff_made_on_the_form_and_on_the_command_line_are_role_changes(client, auth, app, runner):
    admin = make_user(Role.ADMIN)
    auth.login(admin.phone)
    token = csrf_token(client, "/users/new")
    client.post("/users/new", data={"full_name": "Trần Văn Giảng", "phone": "0983 000 111",
                                    "roles": ["instructor", "organizer"], "province": "1", "commune": "0",
                                    "csrf_token": token})
    result = runner.invoke(args=["users", "create", "--role", "admin", "--phone", "0983000222", "--name", "Quản trị",
                                 "--password", "quan-tri-2026"])
    assert result.exit_code == 0, result.output
    staff = db.session.scalar(sa.select(User).where(User.phone == "0983000111"))
    second = db.session.scalar(sa.select(User).where(User.phone == "0983000222"))
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.subject_id,
                                          AuditEvent.object_kind, AuditEvent.object_ref)
                                .order_by(AuditEvent.id)).all()
    assert events == [(AuditAction.CHANGED_ROLES, admin.id, staff.id, AuditObject.ROLES, "instructor,organizer"),
                      (AuditAction.CHANGED_ROLES, None, second.id, AuditObject.ROLES, "admin")]
    page = client.get("/admin/audit", query_string={"action": "changed_roles"}).get_data(as_text=True)
    assert "Vai trò: Giảng viên, Cán bộ tổ chức" in page and "hệ thống" in page
    assert f"Trần Văn Giảng (#{staff.id})" in page


def test_an_attendance_export_and_slips_from_the_command_line_are_events(app, runner, tmp_path):
    # Imported trainees: no password yet, so each needs a slip.
    cohort = make_cohort(members=[make_trainee(password=None), make_trainee(password=None)])
    result = runner.invoke(args=["attendance", "export", "--cohort", cohort.code, "-o", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["trainees", "slips", "--cohort", cohort.code, "--out", str(tmp_path / "s.pdf")])
    assert result.exit_code == 0, result.output
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.object_kind,
                                          AuditEvent.object_ref).order_by(AuditEvent.id)).all()
    assert events == [(AuditAction.EXPORTED_LIST, None, AuditObject.ATTENDANCE, f"{cohort.code} · csv · cli"),
                      (AuditAction.ISSUED_CODES, None, AuditObject.ACTIVATION_SLIPS, f"{cohort.code} · 2 · cli")]
    assert str(tmp_path) not in " ".join(ref for *_rest, ref in events)
