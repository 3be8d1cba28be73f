"""Classes are edited after creation, and every change is kept in their history."""

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from lms.accounts.models import Role
from lms.cohorts import importing, services
from lms.cohorts.models import CohortChange, CohortField
from lms.core.extensions import db
from tests.cohorts import fixtures
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, make_course, make_trainee, make_user

PHU_XUYEN_HA_NOI = 10273


@pytest.fixture
def cohort(app):
    cohort = services.create_cohort(code="ONLINE-01", course=make_course(), name="Lớp trực tuyến")
    db.session.commit()
    return cohort


@pytest.fixture
def organizer(app):
    return make_user(Role.ORGANIZER, full_name="Lê Thị Tổ Chức")


def edit_form(cohort, **changes):
    data = {"name": cohort.name, "province": "1", "commune": str(cohort.commune_code or 0), "venue": cohort.venue,
            "start_date": cohort.start_date.isoformat() if cohort.start_date else "",
            "end_date": cohort.end_date.isoformat() if cohort.end_date else "",
            "capacity": str(cohort.capacity or ""), "instructors": [str(u.id) for u in cohort.instructors]}
    return {**data, **changes}


def post_edit(client, cohort, **changes):
    token = csrf_token(client, f"/cohorts/{cohort.code}/edit")
    return client.post(f"/cohorts/{cohort.code}/edit", data={**edit_form(cohort, **changes), "csrf_token": token})


def test_update_records_each_change_readably(cohort, organizer):
    teacher = make_user(Role.INSTRUCTOR, full_name="Trần Văn Giảng")
    changes = services.update_cohort(cohort, changed_by=organizer, name="Lớp Phú Xuyên", commune_code=PHU_XUYEN_HA_NOI,
                                     venue="Nhà văn hoá", start_date=date(2026, 12, 1), end_date=None, capacity=30,
                                     instructors=[teacher])
    assert [(c.field, c.old_value, c.new_value) for c in changes] == [
        (CohortField.NAME, "Lớp trực tuyến", "Lớp Phú Xuyên"),
        (CohortField.COMMUNE, None, "Xã Phú Xuyên, Thành phố Hà Nội"),
        (CohortField.VENUE, None, "Nhà văn hoá"),
        (CohortField.START_DATE, None, "01/12/2026"),
        (CohortField.CAPACITY, None, "30"),
        (CohortField.INSTRUCTORS, None, "Trần Văn Giảng"),
    ]
    assert all(c.changed_by_id == organizer.id and c.cohort_id == cohort.id for c in changes)
    again = services.update_cohort(cohort, changed_by=organizer, name="Lớp Phú Xuyên", commune_code=PHU_XUYEN_HA_NOI,
                                   venue="Nhà văn hoá", start_date=date(2026, 12, 1), end_date=None, capacity=30,
                                   instructors=[teacher])
    assert again == []


def test_update_never_commits(cohort, organizer):
    services.update_cohort(cohort, changed_by=organizer, name="Lớp mới", commune_code=None, venue="", start_date=None,
                           end_date=None, capacity=None, instructors=[])
    db.session.rollback()
    assert services.get_cohort_by_code("ONLINE-01").name == "Lớp trực tuyến"
    assert db.session.scalar(sa.select(sa.func.count(CohortChange.id))) == 0


def test_organizer_edits_a_class_and_reads_its_history(client, auth, cohort, organizer):
    old_teacher = make_user(Role.INSTRUCTOR, full_name="Phạm Văn Cũ")
    new_teacher = make_user(Role.INSTRUCTOR, full_name="Đỗ Thị Mới")
    cohort.instructors = [old_teacher]
    db.session.commit()
    auth.login(organizer.phone)
    detail = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    assert f"/cohorts/{cohort.code}/edit" in detail and f"/cohorts/{cohort.code}/history" in detail
    page = client.get(f"/cohorts/{cohort.code}/edit").get_data(as_text=True)
    assert 'value="Lớp trực tuyến"' in page and re.search(rf'<input checked[^>]*value="{old_teacher.id}"', page)
    response = post_edit(client, cohort, commune=str(PHU_XUYEN_HA_NOI), instructors=[str(new_teacher.id)])
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cohorts/{cohort.code}")
    assert cohort.commune_code == PHU_XUYEN_HA_NOI and cohort.instructors == [new_teacher]
    shown = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    assert "Đã lưu: Xã / phường, Giảng viên." in shown
    history = client.get(f"/cohorts/{cohort.code}/history").get_data(as_text=True)
    for text in ("Xã Phú Xuyên, Thành phố Hà Nội", "Phạm Văn Cũ", "Đỗ Thị Mới", "Lê Thị Tổ Chức"):
        assert text in history


def test_history_shows_vietnam_time(client, auth, cohort, organizer):
    db.session.add(CohortChange(cohort_id=cohort.id, changed_by_id=organizer.id, field=CohortField.VENUE,
                                old_value=None, new_value="Hội trường",
                                changed_at=datetime(2026, 12, 1, 20, 30, tzinfo=UTC)))
    db.session.add(CohortChange(cohort_id=cohort.id, changed_by_id=None, field=CohortField.CAPACITY,
                                old_value="30", new_value=None))
    db.session.commit()
    auth.login(organizer.phone)
    history = client.get(f"/cohorts/{cohort.code}/history").get_data(as_text=True)
    assert "Không giới hạn" in history and "một tài khoản đã xoá" in history
    assert "02/12/2026 03:30" in history  # 20:30 UTC is 03:30 the next day in Vietnam


def test_a_class_given_a_commune_later_resolves_an_ambiguous_import(client, auth, cohort, organizer):
    rows = fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["A Một", "0912345678", "Xã Phú Xuyên"]])
    with force_locale("en"):
        before = importing.dry_run(cohort, rows)
    assert before.rows[0].values.get("commune_code") is None and "several provinces" in before.all_error_texts()[0]
    auth.login(organizer.phone)
    assert post_edit(client, cohort, province="1", commune=str(CHUYEN_MY)).status_code == 302
    after = importing.dry_run(services.get_cohort_by_code(cohort.code), rows)
    assert after.rows[0].values["commune_code"] == PHU_XUYEN_HA_NOI and after.all_error_texts() == []


def test_capacity_below_the_members_is_refused_and_nothing_is_lost(client, auth, cohort, organizer):
    for _ in range(3):
        services.add_member(cohort, make_trainee())
    db.session.commit()
    auth.login(organizer.phone)
    response = post_edit(client, cohort, capacity="2", name="Tên mới", venue="Hội trường")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Lớp đã có 3 học viên: sĩ số tối đa không thể ít hơn." in html
    assert 'value="Tên mới"' in html and 'value="Hội trường"' in html
    db.session.expire_all()
    assert cohort.name == "Lớp trực tuyến" and cohort.capacity is None
    assert services.cohort_history(cohort) == []
    assert post_edit(client, cohort, capacity="3").status_code == 302
    assert cohort.capacity == 3


@pytest.mark.parametrize("changes", [{"end_date": "2026-01-01", "start_date": "2026-02-01"}, {"name": ""},
                                     {"capacity": "-1"}, {"capacity": "99999999999999999999"}, {"capacity": "abc"},
                                     {"commune": "99999"}, {"commune": "Vân Từ"}, {"province": "999"},
                                     {"instructors": ["999999"]}, {"start_date": "32/13/2026"}])
def test_bad_edits_get_a_message_never_a_500(client, auth, cohort, organizer, changes):
    auth.login(organizer.phone)
    response = post_edit(client, cohort, **changes)
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    assert services.cohort_history(cohort) == []


def test_only_organizers_edit_and_only_those_running_the_class_see_history(client, auth, cohort):
    teacher = make_user(Role.INSTRUCTOR)
    other = make_user(Role.INSTRUCTOR)
    cohort.instructors = [teacher]
    db.session.commit()
    auth.login(teacher.phone)
    assert client.get(f"/cohorts/{cohort.code}/edit").status_code == 403
    assert client.get(f"/cohorts/{cohort.code}/history").status_code == 200
    auth.logout()
    auth.login(other.phone)
    assert client.get(f"/cohorts/{cohort.code}/history").status_code == 403
    auth.logout()
    auth.login(make_user(Role.ORGANIZER).phone)
    assert client.get("/cohorts/NO-SUCH/edit").status_code == 404
    assert client.get("/cohorts/NO-SUCH/history").status_code == 404
