"""One commune matcher (lms.places.match_commune) for the CLI, the class form and the import."""

import unicodedata

import pytest
from flask_babel import force_locale

from lms.accounts.models import Role
from lms.cohorts import importing
from lms.cohorts.services import create_cohort, get_cohort_by_code
from lms.core.extensions import db
from lms.places import MatchStatus, match_commune, match_province
from tests.cohorts import fixtures
from tests.conftest import csrf_token
from tests.factories import CHUYEN_MY, make_course, make_user

PHU_XUYEN_HA_NOI, PHU_XUYEN_THAI_NGUYEN, PHUONG_DUC = 10273, 5773, 10279
HA_NOI, THAI_NGUYEN = 1, 19


@pytest.mark.parametrize("written", ["Xã Phú Xuyên", "Phú Xuyên", "phu xuyen", "xa Phu Xuyen", "PHÚ XUYÊN",
                                     unicodedata.normalize("NFD", "Xã Phú Xuyên"), "  Xã   Phú\tXuyên  ",
                                     "X. Phú Xuyên", "Phú Xuyên, Hà Nội"])
def test_a_commune_is_matched_however_it_is_written(written):
    match = match_commune(written, HA_NOI)
    assert match.status == MatchStatus.MATCHED and match.commune.code == PHU_XUYEN_HA_NOI


def test_a_name_in_two_provinces_is_ambiguous_until_a_province_is_given():
    match = match_commune("Xã Phú Xuyên")
    assert match.status == MatchStatus.AMBIGUOUS and match.commune is None
    assert {c.code for c in match.candidates} == {PHU_XUYEN_HA_NOI, PHU_XUYEN_THAI_NGUYEN}
    assert match_commune("phu xuyen", THAI_NGUYEN).commune.code == PHU_XUYEN_THAI_NGUYEN
    assert match_commune("Xã Phú Xuyên, Thái Nguyên").commune.code == PHU_XUYEN_THAI_NGUYEN


@pytest.mark.parametrize("written", ["Phượng Dực", "phuong duc", "Xã Phượng Dực", "xa phuong duc"])
def test_a_name_that_starts_like_a_prefix_is_not_cut(written):
    # "Phượng" folds to "phuong", like "Phường".
    assert match_commune(written).commune.code == PHUONG_DUC


def test_written_tone_marks_tell_communes_apart():
    assert match_commune("Văn Lăng", THAI_NGUYEN).commune.name == "Xã Văn Lăng"
    assert match_commune("Văn Lang", THAI_NGUYEN).commune.name == "Xã Văn Lang"
    ambiguous = match_commune("van lang", THAI_NGUYEN)
    assert ambiguous.status == MatchStatus.AMBIGUOUS and len(ambiguous.candidates) == 2
    # "Vân Từ" (merged in 2025) is not "Vân Tụ" of another province.
    assert match_commune("Vân Từ", HA_NOI).status == MatchStatus.NOT_FOUND
    assert match_commune("Vân Từ").status == MatchStatus.NOT_FOUND


@pytest.mark.parametrize("written", ["", "   ", "Xã", "Không có xã này", "12345", ",", None])
def test_nothing_useful_is_not_found(written):
    assert match_commune(written).status == MatchStatus.NOT_FOUND


@pytest.mark.parametrize("written, code", [("Hà Nội", HA_NOI), ("Thành phố Hà Nội", HA_NOI), ("tp ha noi", HA_NOI),
                                           ("1", HA_NOI), ("thai nguyen", THAI_NGUYEN), ("Tỉnh Thanh Hoá", 38),
                                           ("Nowhere", None), ("99", None), ("", None)])
def test_provinces_are_matched_by_name_or_code(written, code):
    assert match_province(written) == code


# --- The command line --------------------------------------------------------------------------


@pytest.fixture
def course(app):
    return make_course()


def create(runner, course, code, *options):
    return runner.invoke(args=["cohorts", "create", "--code", code, "--course", course.slug, "--name", "Lớp",
                               *options])


def test_cli_accepts_the_names_the_import_accepts(runner, course):
    result = create(runner, course, "PD-01", "--commune", "Phượng Dực")
    assert result.exit_code == 0, result.output
    assert get_cohort_by_code("PD-01").commune_code == PHUONG_DUC
    assert create(runner, course, "CM-01", "--commune", "xa chuyen my").exit_code == 0
    assert get_cohort_by_code("CM-01").commune_code == CHUYEN_MY


def test_cli_asks_for_the_province_of_an_ambiguous_commune(runner, course):
    result = create(runner, course, "PX-01", "--commune", "Phú Xuyên")
    assert result.exit_code == 1 and "--province" in result.output
    assert "Xã Phú Xuyên, Thành phố Hà Nội" in result.output and "Xã Phú Xuyên, Thái Nguyên" in result.output
    assert get_cohort_by_code("PX-01") is None
    assert create(runner, course, "PX-01", "--commune", "Phú Xuyên", "--province", "Thái Nguyên").exit_code == 0
    assert get_cohort_by_code("PX-01").commune_code == PHU_XUYEN_THAI_NGUYEN
    assert create(runner, course, "PX-02", "--commune", "phu xuyen", "--province", "1").exit_code == 0
    assert get_cohort_by_code("PX-02").commune_code == PHU_XUYEN_HA_NOI


def test_cli_refuses_a_commune_outside_the_province_or_an_unknown_province(runner, course):
    outside = create(runner, course, "CM-02", "--commune", "Chuyên Mỹ", "--province", "Thái Nguyên")
    assert outside.exit_code == 1 and "is not in the province" in outside.output
    unknown = create(runner, course, "CM-03", "--commune", "Chuyên Mỹ", "--province", "Atlantis")
    assert unknown.exit_code == 1 and "Atlantis" in unknown.output
    missing = create(runner, course, "CM-04", "--commune", "Vân Từ")
    assert missing.exit_code == 1 and "official list" in missing.output
    assert all(get_cohort_by_code(code) is None for code in ("CM-02", "CM-03", "CM-04"))


# --- The class form ----------------------------------------------------------------------------


def post_class(client, course, code, **fields):
    token = csrf_token(client, "/cohorts/new")
    return client.post("/cohorts/new", data={"code": code, "course": str(course.id), "name": "Lớp Phú Xuyên",
                                             "csrf_token": token, **fields})


def test_class_form_takes_a_code_from_the_select_or_a_written_name(client, auth, course):
    auth.login(make_user(Role.ORGANIZER).phone)
    assert post_class(client, course, "F-01", province="1", commune=str(PHU_XUYEN_HA_NOI)).status_code == 302
    assert post_class(client, course, "F-02", province="19", commune="phu xuyen").status_code == 302
    assert post_class(client, course, "F-03", province="1", commune="Xã Phú Xuyên").status_code == 302
    assert [get_cohort_by_code(c).commune_code for c in ("F-01", "F-02", "F-03")] == [
        PHU_XUYEN_HA_NOI, PHU_XUYEN_THAI_NGUYEN, PHU_XUYEN_HA_NOI]


@pytest.mark.parametrize("commune", ["Chuyên Mỹ", "Vân Từ", str(CHUYEN_MY), "99999999999999999999999", "x" * 500])
def test_class_form_refuses_a_commune_outside_the_province_in_vietnamese(client, auth, course, commune):
    auth.login(make_user(Role.ORGANIZER).phone)
    response = post_class(client, course, "F-09", province="19", commune=commune)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Hãy chọn xã hoặc phường của bạn trong danh sách." in html
    assert 'value="F-09"' in html
    assert get_cohort_by_code("F-09") is None


# --- The import --------------------------------------------------------------------------------


def imported_commune(cohort, written):
    with force_locale("en"):
        report = importing.dry_run(cohort, fixtures.xlsx([["Họ và tên", "SĐT", "Xã"], ["A Một", "0912345678", written]]))
    return report.rows[0].values.get("commune_code"), report.all_error_texts()


def test_import_resolves_an_ambiguous_commune_to_the_class_province(course):
    ha_noi = create_cohort(code="HN-01", course=course, name="Lớp Hà Nội", commune_code=CHUYEN_MY)
    thai_nguyen = create_cohort(code="TN-01", course=course, name="Lớp Thái Nguyên", commune_code=5773)
    anywhere = create_cohort(code="ONLINE-01", course=course, name="Lớp trực tuyến")
    db.session.commit()
    assert imported_commune(ha_noi, "Xã Phú Xuyên") == (PHU_XUYEN_HA_NOI, [])
    assert imported_commune(thai_nguyen, "xa phu xuyen") == (PHU_XUYEN_THAI_NGUYEN, [])
    code, errors = imported_commune(anywhere, "Xã Phú Xuyên")
    assert code is None and "several provinces (Thái Nguyên, Thành phố Hà Nội)" in errors[0]


def test_import_names_the_communes_a_toneless_name_could_be(course):
    cohort = create_cohort(code="TN-02", course=course, name="Lớp", commune_code=5773)
    db.session.commit()
    code, errors = imported_commune(cohort, "van lang")
    assert code is None and "could be Xã Văn Lăng, Xã Văn Lang" in errors[0]
