"""Officials and placed organizers see the figures of their communes only, and change nothing."""

import re

from lms.accounts import services as accounts
from lms.accounts.models import Role, User
from lms.core.extensions import db
from lms.reports import figures
from lms.reports.access import scope_of
from lms.reports.figures import Figure, Period
from tests.conftest import csrf_token
from tests.factories import make_course, make_trainee, make_user

CHUYEN_MY, PHU_XUYEN_HN, PHU_XUYEN_TN = 10330, 10273, 5773
HA_NOI, THAI_NGUYEN = 1, 19


def _official(*communes, provinces=(), role=Role.OFFICIAL):
    user = make_user(role)
    accounts.set_staff_places(user, communes=communes, provinces=provinces)
    db.session.commit()
    return user


def _village(course):
    """Enrol trainees of three communes in two provinces; return them by commune."""
    return {code: [make_trainee(enrolled_in=course, commune_code=code, full_name=f"Học viên {code} số {i}") for i in range(n)]
            for code, n in ((CHUYEN_MY, 3), (PHU_XUYEN_HN, 2), (PHU_XUYEN_TN, 4))} | {
        None: [make_trainee(enrolled_in=course, commune_code=None, full_name="Học viên không rõ xã")]}


def _whole_year():
    from lms.core.timezone import local_today

    today = local_today()
    return Period(today.replace(month=1, day=1), today)


def test_each_person_s_scope_follows_their_roles_and_places(app):
    assert scope_of(make_user(Role.ADMIN)).whole
    assert scope_of(make_user(Role.ORGANIZER)).whole  # no places: the whole programme
    assert scope_of(make_user(Role.INSTRUCTOR)).communes == frozenset()
    assert scope_of(make_user(Role.TRAINEE)).communes == frozenset()
    assert scope_of(make_user(Role.OFFICIAL)).communes == frozenset()  # an official given nothing sees nobody
    assert scope_of(_official(CHUYEN_MY)).communes == {CHUYEN_MY}
    province = scope_of(_official(provinces=[HA_NOI], role=Role.ORGANIZER))
    assert CHUYEN_MY in province.communes and PHU_XUYEN_HN in province.communes
    assert PHU_XUYEN_TN not in province.communes and len(province.communes) == 126


def test_figures_in_a_scope_count_its_communes_trainees_only(app):
    course = make_course("khoa-xa")
    _village(course)
    period = _whole_year()
    assert figures.count(Figure.ENROLLED, period) == 10
    one = scope_of(_official(CHUYEN_MY))
    two = scope_of(_official(CHUYEN_MY, PHU_XUYEN_TN))
    assert figures.count(Figure.ENROLLED, period, scope=one) == 3
    assert figures.count(Figure.ENROLLED, period, scope=two) == 7
    assert figures.by_course([Figure.ENROLLED], period, scope=two)[course.id][Figure.ENROLLED] == 7
    assert set(figures.by_commune([Figure.ENROLLED], period, scope=two)) == {CHUYEN_MY, PHU_XUYEN_TN}
    assert figures.count(Figure.ENROLLED, period, scope=scope_of(make_user(Role.OFFICIAL))) == 0
    # A commune asked for outside the scope gives nothing, not the commune's trainees.
    assert figures.count(Figure.ENROLLED, period, commune_code=PHU_XUYEN_HN, scope=one) == 0


def test_an_official_sees_their_commune_on_the_dashboard_and_its_lists_only(app, client, auth):
    course = make_course("khoa-xa")
    people = _village(course)
    official = _official(CHUYEN_MY)
    auth.login(official.phone)
    assert client.get("/").headers["Location"].endswith("/reports")
    html = client.get("/reports").get_data(as_text=True)
    assert "Học viên sống tại: Xã Chuyên Mỹ" in html
    assert "Xã Phú Xuyên" not in html
    listed = client.get("/reports/trainees/enrolled").get_data(as_text=True)
    assert re.search(r'class="list-count">3 ', listed)
    for code, group in people.items():
        for trainee in group:
            assert (trainee.full_name in listed) == (code == CHUYEN_MY)
            assert trainee.phone not in listed  # an official reads masked phones
    assert people[CHUYEN_MY][0].phone[-3:] + "</span>" in listed
    assert client.get(f"/reports/trainees/enrolled?commune={PHU_XUYEN_HN}").status_code == 404
    assert client.get("/reports/trainees/enrolled?commune=0").status_code == 404  # no commune: not theirs either
    assert client.get(f"/reports/trainees/enrolled?commune={CHUYEN_MY}").status_code == 200


def test_an_official_is_refused_every_page_a_trainee_is_refused_but_the_programme_s(app, client, auth):
    """Walk every GET route without arguments as a trainee and as an official: the official gets no more."""
    trainee, official = make_user(Role.TRAINEE), _official(CHUYEN_MY)
    make_trainee(enrolled_in=make_course("khoa-xa"))
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments and r.endpoint != "static"]
    answers = {}
    for user in (trainee, official):
        auth.login(user.phone)
        for rule in rules:
            response = client.get(rule.rule)
            answers.setdefault(rule.endpoint, []).append(response.status_code)
            response.close()
        auth.logout()
    more = sorted(endpoint for endpoint, (as_trainee, as_official) in answers.items()
                  if as_official < 300 <= as_trainee and not endpoint.startswith("reports."))
    assert more == []
    assert answers["reports.dashboard"][1] == 200


def test_an_official_can_send_nothing_a_trainee_could_not(app, client, auth):
    """Post an empty form to every POST route without arguments as both: officials only read the programme."""
    trainee, official = make_user(Role.TRAINEE), _official(CHUYEN_MY)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.arguments
             and r.endpoint not in {"accounts.logout", "accounts.logout_everywhere"}]
    answers = {}
    for user in (trainee, official):
        auth.login(user.phone)
        token = csrf_token(client, "/account")
        for rule in rules:
            response = client.post(rule.rule, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            answers.setdefault(rule.endpoint, []).append(response.status_code)
        auth.logout()
    more = sorted(endpoint for endpoint, (as_trainee, as_official) in answers.items()
                  if as_trainee in (401, 403) and as_official not in (401, 403))
    assert more == []
    assert sum(as_trainee == 403 for as_trainee, _ in answers.values()) >= 3  # staff routes were among them


def test_the_command_line_creates_an_official_of_a_commune_named_as_people_write_it(app, runner):
    result = runner.invoke(args=["users", "create", "--role", "official", "--commune", "Xã Chuyên Mỹ",
                                 "--phone", "0911000111", "--name", "Trần Văn Xã", "--password", "Chuyen-My-2026!"])
    assert result.exit_code == 0, result.output
    assert "Xã Chuyên Mỹ, Thành phố Hà Nội" in result.output
    user = db.session.scalar(db.select(User).where(User.phone == "0911000111"))
    assert user.roles == {Role.OFFICIAL} and scope_of(user).communes == {CHUYEN_MY}


def test_the_command_line_refuses_an_official_without_a_commune_or_with_one_that_is_not_one(app, runner):
    base = ["users", "create", "--role", "official", "--phone", "0911000112", "--name", "A", "--password", "Chuyen-My-2026!"]
    missing = runner.invoke(args=base)
    assert missing.exit_code != 0 and "--commune" in missing.output
    ambiguous = runner.invoke(args=[*base, "--commune", "Phú Xuyên"])
    assert ambiguous.exit_code != 0 and "Thái Nguyên" in ambiguous.output and "Hà Nội" in ambiguous.output
    assert runner.invoke(args=[*base, "--commune", "Xã Không Có"]).exit_code != 0
    trainee = runner.invoke(args=["users", "create", "--role", "trainee", "--commune", "Xã Chuyên Mỹ",
                                  "--phone", "0911000113", "--name", "A", "--password", "Chuyen-My-2026!"])
    assert trainee.exit_code != 0
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0
    placed = runner.invoke(args=[*base, "--commune", "Phú Xuyên, Thái Nguyên"])
    assert placed.exit_code == 0, placed.output


def _staff_form(client, **fields) -> dict:
    data = {"csrf_token": csrf_token(client, "/users/new"), "full_name": "Lê Thị Xã", "phone": "0911000120",
            "province": "1", "commune": "0", "answers_for_province": "0", "answers_for_communes": ""}
    return data | fields


def test_the_admin_creates_an_official_and_a_province_organizer_from_the_staff_form(app, client, auth):
    auth.login(make_user(Role.ADMIN).phone)
    answer = client.post("/users/new", data=_staff_form(client, roles="official",
                                                         answers_for_communes="Xã Chuyên Mỹ\nphu xuyen, ha noi\n"))
    assert answer.status_code == 200 and "0911000120" in answer.get_data(as_text=True)
    official = db.session.scalar(db.select(User).where(User.phone == "0911000120"))
    assert scope_of(official).communes == {CHUYEN_MY, PHU_XUYEN_HN}
    client.post("/users/new", data=_staff_form(client, roles="organizer", phone="0911000121",
                                               answers_for_province=str(THAI_NGUYEN)))
    organizer = db.session.scalar(db.select(User).where(User.phone == "0911000121"))
    assert PHU_XUYEN_TN in scope_of(organizer).communes and CHUYEN_MY not in scope_of(organizer).communes


def test_the_staff_form_says_what_is_wrong_with_the_places_and_keeps_what_was_typed(app, client, auth):
    auth.login(make_user(Role.ADMIN).phone)
    html = client.post("/users/new", data=_staff_form(client, roles="official")).get_data(as_text=True)
    assert "Cán bộ xã phải phụ trách ít nhất một xã" in html
    html = client.post("/users/new", data=_staff_form(client, roles="official",
                                                       answers_for_communes="Phú Xuyên\nXã Không Có")).get_data(as_text=True)
    assert "Có nhiều xã tên “Phú Xuyên”" in html and "Không có xã, phường nào tên “Xã Không Có”" in html
    assert "Xã Không Có</textarea>" in html
    html = client.post("/users/new", data=_staff_form(client, roles="instructor",
                                                       answers_for_communes="Xã Chuyên Mỹ")).get_data(as_text=True)
    assert "Chỉ cán bộ xã và cán bộ tổ chức mới có địa bàn phụ trách" in html
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1  # the admin only


def test_the_admin_changes_the_places_of_an_official_and_the_official_s_figures_follow(app, client, auth):
    course = make_course("khoa-xa")
    _village(course)
    official = _official(CHUYEN_MY)
    auth.login(make_user(Role.ADMIN).phone)
    page = client.get(f"/users/{official.id}").get_data(as_text=True)
    assert "Xã Chuyên Mỹ, Thành phố Hà Nội" in page and f"/users/{official.id}/places" in page
    form = client.get(f"/users/{official.id}/places").get_data(as_text=True)
    assert "Xã Chuyên Mỹ, Thành phố Hà Nội</textarea>" in form  # what they answer for now, to edit
    token = csrf_token(client, f"/users/{official.id}/places")
    answer = client.post(f"/users/{official.id}/places", data={
        "csrf_token": token, "answers_for_province": "0", "answers_for_communes": "Xã Phú Xuyên, Thái Nguyên"})
    assert answer.status_code == 302
    assert scope_of(db.session.get(User, official.id)).communes == {PHU_XUYEN_TN}
    refused = client.post(f"/users/{official.id}/places", data={
        "csrf_token": token, "answers_for_province": "0", "answers_for_communes": ""})
    assert "Cán bộ xã phải phụ trách ít nhất một xã" in refused.get_data(as_text=True)
    assert scope_of(db.session.get(User, official.id)).communes == {PHU_XUYEN_TN}  # nothing lost
    assert client.get(f"/users/{make_user(Role.TRAINEE).id}/places").status_code == 404  # a trainee has no places
    auth.logout()
    auth.login(official.phone)
    assert re.search(r'class="list-count">4 ', client.get("/reports/trainees/enrolled").get_data(as_text=True))


def test_only_the_admin_changes_places(app, client, auth):
    official = _official(CHUYEN_MY)
    for role in (Role.ORGANIZER, Role.OFFICIAL, Role.INSTRUCTOR):
        auth.login(make_user(role).phone)
        assert client.get(f"/users/{official.id}/places").status_code == 403
        auth.logout()
