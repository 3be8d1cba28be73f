"""Every list of a class's trainees people see is in the same Vietnamese class-list order."""

import csv
import io
import re
from datetime import timedelta

from lms.accounts.models import Role
from lms.attendance import exports
from lms.attendance import services as attendance
from lms.cohorts import importing
from lms.cohorts import services as cohorts
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.text import name_order
from tests.attendance.helpers import add_session_at
from tests.factories import make_course, make_trainee, make_user

#: By given name (the last word: An < Ánh < Bình < Cường < Dũng < Đức < Hùng), then by the full name,
#: where D comes before Đ and Đ before E: the four Hùng go Dương, Đinh, Đỗ, Trần.
CLASS_LIST = ["Trần Văn An", "Nguyễn Thị Ánh", "Đỗ Thị Bình", "Dương Văn Cường", "Phạm Văn Dũng", "Lê Văn Đức",
              "Dương Văn Hùng", "Đinh Văn Hùng", "Đỗ Văn Hùng", "Trần Văn Hùng"]


def test_class_page_roll_call_slips_csv_and_sign_in_sheet_agree(client, auth, app):
    assert sorted(CLASS_LIST, key=name_order) == CLASS_LIST
    organizer = make_user(Role.ORGANIZER)
    cohort = cohorts.create_cohort(code="PX-ORDER-01", course=make_course("thu-tu", lessons=1), name="Lớp thứ tự")
    # Added in an order that neither the alphabet of Python nor the insertion would put right.
    for name in sorted(CLASS_LIST, reverse=True):
        cohorts.add_member(cohort, make_trainee(full_name=name, password=None))
    session = add_session_at(cohort, utcnow() - timedelta(days=1))

    auth.login(organizer.phone)
    page = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    on_class_page = re.findall(r'<li class="card">\s*<strong>([^<]+)</strong>', page[page.index('id="members"'):])
    roll = client.get(f"/sessions/{session.id}/roll-call").get_data(as_text=True)
    on_roll_call = re.findall(r'class="roll-name" id="n-\d+">([^<]+)<', roll)
    download = client.get(f"/cohorts/{cohort.code}/attendance.csv")
    assert download.status_code == 200
    in_csv = [row[7] for row in csv.reader(io.StringIO(download.get_data().decode("utf-8-sig")))][1:]
    on_sign_in_sheet = [t["full_name"] for t in exports.sign_in_sheet_data(session)[1]]
    on_slips = [slip["full_name"] for slip in importing.issue_slips(cohort)]
    db.session.rollback()

    assert on_class_page == CLASS_LIST
    assert [row.user.full_name for row in attendance.roll_call(session)] == on_roll_call == CLASS_LIST
    assert in_csv == CLASS_LIST
    assert on_sign_in_sheet == CLASS_LIST
    assert on_slips == CLASS_LIST
