"""The organizer's screens for moving and withdrawing many trainees, and for finding one in any class."""

import html
import re

import pytest
import sqlalchemy as sa

from lms.accounts.models import Role
from lms.audit.models import AuditAction, AuditEvent, AuditObject
from lms.cohorts import services
from lms.cohorts.models import CohortChange, CohortMember, MemberStatus
from lms.core.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_class, make_course, make_trainee, make_user


@pytest.fixture
def world(app):
    """Class A (Hường, Bình, Lan) and class B (Mai) of one course, class C of another course, and an organizer."""
    course = make_course("quay-video", lessons=1)
    a, instructor, (huong, binh, lan) = make_class(course, trainees=("Nguyễn Thị Hường", "Trần Văn Bình", "Lê Thị Lan"))
    b, _, (mai,) = make_class(course, trainees=("Phạm Thị Mai",))
    b.commune_code = 10330
    c, _, (son,) = make_class(make_course("livestream", lessons=1), trainees=("Đỗ Văn Sơn",))
    organizer = make_user(Role.ORGANIZER, full_name="Lê Thị Tổ Chức")
    db.session.commit()
    return {"a": a, "b": b, "c": c, "huong": huong, "binh": binh, "lan": lan, "mai": mai, "son": son,
            "instructor": instructor, "organizer": organizer}


@pytest.fixture
def organizer_client(client, auth, world):
    auth.login(world["organizer"].phone)
    return client


def mid(cohort, user) -> int:
    return services.get_member(cohort, user).id


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def status_in(cohort, user):
    member = services.get_member(cohort, user)
    return member.status if member else None


def post_move(client, cohort, member_ids, target, **extra):
    token = csrf_token(client, f"/cohorts/{cohort.code}")
    data = {"csrf_token": token, "confirm": "yes", "member": [str(i) for i in member_ids], "target": str(target),
            **extra}
    return client.post(f"/cohorts/{cohort.code}/members/move", data=data)


def post_withdraw(client, cohort, member_ids, **extra):
    token = csrf_token(client, f"/cohorts/{cohort.code}")
    data = {"csrf_token": token, "confirm": "yes", "member": [str(i) for i in member_ids], **extra}
    return client.post(f"/cohorts/{cohort.code}/members/withdraw", data=data)


def test_the_class_page_offers_ticks_select_all_and_both_actions_to_organizers_only(organizer_client, client, auth,
                                                                                      world):
    a = world["a"]
    page = text_of(organizer_client.get(f"/cohorts/{a.code}"))
    for person in ("huong", "binh", "lan"):
        assert f'name="member" value="{mid(a, world[person])}"' in page
        assert f'name="shown" value="{mid(a, world[person])}"' in page
    assert "Chọn tất cả trên trang này" in page and "Chọn Nguyễn Thị Hường" in page
    assert f'action="/cohorts/{a.code}/members/move"' in page
    assert f'formaction="/cohorts/{a.code}/members/withdraw"' in page
    assert "Chuyển sang lớp khác" in page and "Cho rút khỏi lớp" in page
    auth.logout()
    auth.login(world["instructor"].phone)
    theirs = text_of(client.get(f"/cohorts/{a.code}"))
    assert 'name="member"' not in theirs and "Chuyển sang lớp khác" not in theirs


def test_organizer_moves_two_trainees_through_the_confirmation_page(organizer_client, world):
    a, b, c = world["a"], world["b"], world["c"]
    ids = [mid(a, world["huong"]), mid(a, world["binh"])]
    query = "&".join(f"member={i}" for i in ids)
    page = text_of(organizer_client.get(f"/cohorts/{a.code}/members/move?{query}"))
    assert "Chuyển 2 học viên khỏi lớp" in page
    assert "Nguyễn Thị Hường" in page and "Trần Văn Bình" in page and "Lê Thị Lan" not in page
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)</option>', page)
    assert [(int(v), label) for v, label in options] == [(b.id, f"{b.code} — Xã Chuyên Mỹ — 1 học viên — {b.name}")]
    assert str(c.id) not in [v for v, _ in options]  # another course's class is not offered
    response = post_move(organizer_client, a, ids, b.id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cohorts/{a.code}#members")
    assert status_in(a, world["huong"]) == MemberStatus.WITHDRAWN and status_in(b, world["huong"]) == MemberStatus.ACTIVE
    assert status_in(b, world["binh"]) == MemberStatus.ACTIVE and status_in(a, world["lan"]) == MemberStatus.ACTIVE
    shown = text_of(organizer_client.get(f"/cohorts/{a.code}"))
    assert f"Đã chuyển 2 học viên sang lớp {b.code}: Trần Văn Bình, Nguyễn Thị Hường." in shown
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.MOVED_TO_CLASS)).all()
    assert sorted(e.subject_id for e in events) == sorted([world["huong"].id, world["binh"].id])
    assert {(e.actor_id, e.object_kind, e.object_ref) for e in events} == {
        (world["organizer"].id, AuditObject.CLASS_MEMBERSHIP, f"{a.code} → {b.code}")}


def test_select_all_on_the_page_takes_everyone_the_page_showed(organizer_client, world):
    a, b = world["a"], world["b"]
    shown = [mid(a, world[p]) for p in ("huong", "binh", "lan")]
    query = "all=y&" + "&".join(f"shown={i}" for i in shown)
    page = text_of(organizer_client.get(f"/cohorts/{a.code}/members/move?{query}"))
    assert "Chuyển 3 học viên khỏi lớp" in page
    withdraw = text_of(organizer_client.get(f"/cohorts/{a.code}/members/withdraw?{query}"))
    assert "Rút 3 học viên khỏi lớp" in withdraw
    assert services.active_member_count(a) == 3 and services.active_member_count(b) == 1  # asking changes nothing


def test_the_move_refuses_past_the_capacity_with_the_places_left_and_moves_nobody(organizer_client, world):
    a, b = world["a"], world["b"]
    b.capacity = 2
    db.session.commit()
    ids = [mid(a, world["huong"]), mid(a, world["binh"])]
    response = post_move(organizer_client, a, ids, b.id)
    assert response.status_code == 200
    assert f"Lớp {b.code} chỉ còn 1 chỗ trống mà bạn đã chọn 2 học viên. Chưa chuyển ai" in text_of(response)
    assert services.active_member_count(a) == 3 and services.active_member_count(b) == 1
    assert db.session.scalar(sa.select(sa.func.count(CohortChange.id))) == 0


@pytest.mark.parametrize("target, message", [
    ("same", "Học viên đã ở lớp {a}: hãy chọn lớp khác."),
    ("other course", "Lớp {c} học khoá khác"),
    ("unknown", "Hãy chọn một lớp trong danh sách."),
    ("abc", "Hãy chọn lớp muốn chuyển học viên sang."),
    ("", "Hãy chọn lớp muốn chuyển học viên sang."),
    ("99999999999999999999", "Hãy chọn lớp muốn chuyển học viên sang."),
])
def test_a_tampered_or_wrong_target_gets_a_message_and_nothing_moves(organizer_client, world, target, message):
    a, c = world["a"], world["c"]
    value = {"same": a.id, "other course": c.id, "unknown": 987654}.get(target, target)
    response = post_move(organizer_client, a, [mid(a, world["huong"])], value)
    assert response.status_code == 200
    assert message.format(a=a.code, c=c.code) in text_of(response)
    assert status_in(a, world["huong"]) == MemberStatus.ACTIVE
    assert db.session.scalar(sa.select(sa.func.count(CohortChange.id))) == 0


def test_moving_someone_already_in_the_target_names_them_and_moves_nobody(organizer_client, world):
    a, b = world["a"], world["b"]
    services.add_member(b, world["huong"])
    db.session.commit()
    response = post_move(organizer_client, a, [mid(a, world["huong"]), mid(a, world["binh"])], b.id)
    assert f"Đã ở trong lớp {b.code}: Nguyễn Thị Hường. Chưa chuyển ai" in text_of(response)
    assert status_in(b, world["binh"]) is None and status_in(a, world["binh"]) == MemberStatus.ACTIVE


@pytest.mark.parametrize("action", ["move", "withdraw"])
@pytest.mark.parametrize("choice, message", [
    ("nothing", "Hãy chọn ít nhất một học viên trước."),
    ("unknown", "Có học viên được chọn không thuộc lớp"),
    ("other class", "Có học viên được chọn không thuộc lớp"),
    ("junk", "Không đọc được danh sách học viên đã chọn."),
    ("withdrawn", "Không còn trong lớp"),
])
def test_a_bad_choice_of_trainees_gets_a_message_on_the_class_page_and_changes_nothing(
        organizer_client, world, action, choice, message):
    a, b = world["a"], world["b"]
    if choice == "withdrawn":
        services.withdraw_member(services.get_member(a, world["lan"]))
        db.session.commit()
    ids = {"nothing": [], "unknown": [mid(a, world["huong"]), 987654], "other class": [mid(b, world["mai"])],
           "junk": [str(mid(a, world["huong"])), "1 OR 1=1"], "withdrawn": [mid(a, world["lan"])]}[choice]
    url = f"/cohorts/{a.code}/members/{action}"
    for send in (
        lambda: organizer_client.get(url, query_string={"member": [str(i) for i in ids]}),
        lambda: post_move(organizer_client, a, ids, b.id) if action == "move" else post_withdraw(organizer_client, a, ids),
    ):
        response = send()
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/cohorts/{a.code}#members")
        page = text_of(organizer_client.get(response.headers["Location"]))
        assert message in page
        assert "Phạm Thị Mai" not in page  # another class's trainee is never named
    assert services.active_member_count(a) == (2 if choice == "withdrawn" else 3)
    assert services.active_member_count(b) == 1
    assert db.session.scalar(sa.select(sa.func.count(CohortChange.id))) == 0


def test_a_bare_post_without_the_confirmation_changes_nothing(organizer_client, world):
    a, b = world["a"], world["b"]
    token = csrf_token(organizer_client, f"/cohorts/{a.code}")
    for url, extra in ((f"/cohorts/{a.code}/members/move", {"target": str(b.id)}),
                       (f"/cohorts/{a.code}/members/withdraw", {})):
        response = organizer_client.post(url, data={"csrf_token": token, "member": [str(mid(a, world["huong"]))],
                                                    **extra})
        assert response.status_code == 200 and "Nguyễn Thị Hường" in text_of(response)
    assert status_in(a, world["huong"]) == MemberStatus.ACTIVE


def test_organizer_withdraws_many_with_a_reason_after_seeing_who(organizer_client, world):
    a = world["a"]
    ids = [mid(a, world["huong"]), mid(a, world["lan"])]
    page = text_of(organizer_client.get(f"/cohorts/{a.code}/members/withdraw",
                                        query_string={"member": [str(i) for i in ids]}))
    assert f"Rút 2 học viên khỏi lớp {a.code}?" in page
    assert re.findall(r"<li>([^<]+)</li>", page[page.index('class="chosen"'):])[:2] == [
        "Nguyễn Thị Hường", "Lê Thị Lan"]
    assert "Lý do (không bắt buộc" in page and "Đồng ý, rút 2 học viên" in page
    response = post_withdraw(organizer_client, a, ids, reason="Đi làm ở Hà Nội")
    assert response.status_code == 302
    assert [status_in(a, world[p]) for p in ("huong", "binh", "lan")] == [
        MemberStatus.WITHDRAWN, MemberStatus.ACTIVE, MemberStatus.WITHDRAWN]
    assert "Đã rút 2 học viên khỏi lớp: Nguyễn Thị Hường, Lê Thị Lan." in text_of(
        organizer_client.get(f"/cohorts/{a.code}"))
    history = text_of(organizer_client.get(f"/cohorts/{a.code}/history"))
    assert "Học viên rút khỏi lớp" in history and "Lý do: Đi làm ở Hà Nội" in history
    assert "Lê Thị Tổ Chức" in history
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.WITHDREW_FROM_CLASS))
    assert sorted(e.subject_id for e in events) == sorted([world["huong"].id, world["lan"].id])


def test_a_reason_too_long_is_refused_beside_the_field(organizer_client, world):
    a = world["a"]
    response = post_withdraw(organizer_client, a, [mid(a, world["huong"])], reason="x" * 301)
    assert response.status_code == 200 and 'class="error"' in response.get_data(as_text=True)
    assert status_in(a, world["huong"]) == MemberStatus.ACTIVE


def test_withdrawing_one_trainee_is_in_the_history_too(organizer_client, world):
    a = world["a"]
    token = csrf_token(organizer_client, f"/cohorts/{a.code}")
    organizer_client.post(f"/cohorts/{a.code}/members/{mid(a, world['binh'])}/withdraw",
                          data={"csrf_token": token, "confirm": "yes"})
    assert status_in(a, world["binh"]) == MemberStatus.WITHDRAWN
    change, = services.cohort_history(a)
    assert change.new_value == "Trần Văn Bình" and change.changed_by_id == world["organizer"].id


def test_the_history_of_both_classes_says_who_moved_whom_and_when_in_vietnam_time(organizer_client, world):
    from datetime import UTC, datetime

    a, b = world["a"], world["b"]
    post_move(organizer_client, a, [mid(a, world["huong"])], b.id)
    db.session.execute(sa.update(CohortChange).values(changed_at=datetime(2026, 12, 1, 20, 30, tzinfo=UTC)))
    db.session.commit()
    out = text_of(organizer_client.get(f"/cohorts/{a.code}/history"))
    assert "Học viên chuyển đi" in out
    assert f'Chuyển sang lớp <a href="/cohorts/{b.code}">{b.code} · {b.name}</a>' in out
    assert "1 học viên:" in out and "<li>Nguyễn Thị Hường</li>" in out
    assert "02/12/2026 03:30 · Lê Thị Tổ Chức" in out
    into = text_of(organizer_client.get(f"/cohorts/{b.code}/history"))
    assert "Học viên chuyển đến" in into
    assert f'Chuyển đến từ lớp <a href="/cohorts/{a.code}">{a.code} · {a.name}</a>' in into
    assert "02/12/2026 03:30 · Lê Thị Tổ Chức" in into


@pytest.mark.parametrize("who", ["instructor", "trainee"])
def test_instructors_and_trainees_can_neither_move_withdraw_nor_search(client, auth, world, who):
    a, b = world["a"], world["b"]
    auth.login(world["instructor"].phone if who == "instructor" else world["huong"].phone)
    ids = [mid(a, world["binh"])]
    token = csrf_token(client, "/verify")
    for url in (f"/cohorts/{a.code}/members/move", f"/cohorts/{a.code}/members/withdraw"):
        assert client.get(url, query_string={"member": [str(i) for i in ids]}).status_code == 403
        answer = client.post(url, data={"csrf_token": token, "confirm": "yes", "member": [str(ids[0])],
                                        "target": str(b.id)})
        assert answer.status_code == 403
    assert client.get("/cohorts/find?q=binh").status_code == 403
    assert status_in(a, world["binh"]) == MemberStatus.ACTIVE


# --- Finding a trainee in any class ---------------------------------------------------------


def test_organizer_finds_a_trainee_by_name_without_tones_with_every_class(organizer_client, world):
    a, b = world["a"], world["b"]
    post_move(organizer_client, a, [mid(a, world["huong"])], b.id)
    page = text_of(organizer_client.get("/cohorts/find?q=nguyen+thi+huong"))
    assert "1 học viên khớp với “nguyen thi huong”." in page
    card = page[page.index('<li class="card">'):]
    assert "Nguyễn Thị Hường" in card and f'/users/{world["huong"].id}' in card
    masked = world["huong"].phone[:4] + "***" + world["huong"].phone[-3:]
    assert masked in card and world["huong"].phone not in card  # masked, as on the other staff lists
    assert "Xã Chuyên Mỹ" in card
    assert f'href="/cohorts/{b.code}">{b.code}</a> · {b.course.title}' in card and "Trong lớp" in card
    assert f'href="/cohorts/{a.code}">{a.code}</a>' in card and "Đã rút khỏi lớp" in card
    assert "Trần Văn Bình" not in page


def test_organizer_finds_a_trainee_by_digits_of_the_phone(organizer_client, world):
    world["son"].phone = "0977123456"
    db.session.commit()
    for typed in ("3456", "771234"):  # the last digits, or six anywhere
        page = text_of(organizer_client.get(f"/cohorts/find?q={typed}"))
        assert "Đỗ Văn Sơn" in page and world["c"].code in page and "Trần Văn Bình" not in page, typed
    nobody = text_of(organizer_client.get("/cohorts/find?q=xyz"))
    assert "Không có học viên nào trong các lớp khớp với “xyz”." in nobody


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999999", "7"])
def test_the_search_pages_and_any_page_number_gives_a_page(organizer_client, world, page):
    course = world["a"].course
    make_class(course, trainees=[f"Vũ Thị Ánh {n:02d}" for n in range(30)])
    response = organizer_client.get(f"/cohorts/find?q=vu+thi&page={page}")
    assert response.status_code == 200
    names = re.findall(r"<strong>(Vũ Thị Ánh \d\d)</strong>", text_of(response))
    assert len(names) in (25, 5)
    first = organizer_client.get("/cohorts/find?q=vu+thi").get_data(as_text=True)
    assert "Trang 1 / 2" in first and "/cohorts/find?page=2&amp;q=vu+thi" in first


def test_the_search_is_reached_from_the_dashboard_and_the_classes_list(organizer_client, world):
    for page in ("/reports", "/cohorts"):
        shown = text_of(organizer_client.get(page))
        assert 'action="/cohorts/find"' in shown and "Tìm học viên" in shown, page


def test_someone_in_no_class_is_not_found(organizer_client, world):
    make_trainee(full_name="Hoàng Văn Lẻ")
    assert "Hoàng Văn Lẻ" not in text_of(organizer_client.get("/cohorts/find?q=hoang+van+le"))
    assert db.session.scalar(sa.select(sa.func.count(CohortMember.id))) == 5


def test_anyone_not_logged_in_is_sent_to_the_login_page(client, world):
    a = world["a"]
    for url in ("/cohorts/find?q=huong", f"/cohorts/{a.code}/members/move?member=1",
                f"/cohorts/{a.code}/members/withdraw?member=1"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_a_big_move_is_told_by_its_count_and_the_history_names_everyone(organizer_client, world):
    a, b = world["a"], world["b"]
    others = [make_trainee(full_name=f"Vũ Thị Ánh {n:02d}") for n in range(11)]
    for person in others:
        services.add_member(a, person)
    db.session.commit()
    ids = [mid(a, person) for person in others]
    post_move(organizer_client, a, ids, b.id)
    shown = text_of(organizer_client.get(f"/cohorts/{a.code}"))
    assert f"Đã chuyển 11 học viên sang lớp {b.code}." in shown and "Vũ Thị Ánh 00" not in shown
    history = text_of(organizer_client.get(f"/cohorts/{b.code}/history"))
    assert "11 học viên" in history and all(f"<li>Vũ Thị Ánh {n:02d}</li>" in history for n in range(11))
