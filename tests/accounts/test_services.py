import pytest
import sqlalchemy as sa

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.core.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_trainee, make_user


def test_phone_is_stored_canonical_and_unique(app):
    user = make_trainee(phone="+84 912 345 678")
    assert user.phone == "0912345678"
    with pytest.raises(services.PhoneAlreadyRegistered):
        make_trainee(phone="84-912-345-678")
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_authenticate_accepts_any_written_form_of_the_phone(app):
    make_trainee(phone="0912345678")
    assert services.authenticate("+84912345678", DEFAULT_PASSWORD) is not None
    assert services.authenticate("0912345678", "wrong-password") is None
    assert services.authenticate("0987654321", DEFAULT_PASSWORD) is None


def test_inactive_user_cannot_log_in(app):
    user = make_trainee()
    user.active = False
    db.session.commit()
    assert services.authenticate(user.phone, DEFAULT_PASSWORD) is None


def test_password_is_hashed_with_argon2(app):
    user = make_trainee()
    assert user.password_hash.startswith("$argon2id$")
    assert DEFAULT_PASSWORD not in user.password_hash


def test_reset_to_one_time_code_forces_a_change_and_ends_sessions(app):
    user = make_trainee()
    epoch = user.auth_epoch
    code = services.reset_password_to_code(user)
    assert len(code) == 8 and code.isdigit()
    assert user.must_change_password
    assert user.auth_epoch == epoch + 1
    assert services.authenticate(user.phone, DEFAULT_PASSWORD) is None
    assert services.authenticate(user.phone, code) is user
    services.change_password(user, "", "new-secret-99")
    assert not user.must_change_password
    assert services.authenticate(user.phone, "new-secret-99") is user


def test_weak_passwords_are_refused(app):
    with pytest.raises(services.WeakPassword):
        make_trainee(password="short")
    with pytest.raises(services.WeakPassword):
        make_trainee(password="aaaaaaaaaa")


def test_a_user_may_hold_several_roles(app):
    user = make_user(Role.INSTRUCTOR, Role.ORGANIZER)
    assert user.roles == {Role.INSTRUCTOR, Role.ORGANIZER}
    services.set_roles(user, {Role.ORGANIZER, Role.ADMIN})
    db.session.commit()
    assert db.session.get(User, user.id).roles == {Role.ORGANIZER, Role.ADMIN}


def test_unknown_commune_is_refused(app):
    with pytest.raises(services.UnknownCommune):
        make_trainee(commune_code=99999999)


def test_search_users_by_name_and_phone(app):
    make_trainee(full_name="Phạm Văn Lực", phone="0988111222")
    make_trainee(full_name="Đỗ Thị Mai", phone="0977333444")
    by_phone = db.session.scalars(services.search_users("111 222")).all()
    assert [u.full_name for u in by_phone] == ["Phạm Văn Lực"]
    # The last digits, as the class page searches: a carrier's prefix would find everyone.
    assert db.session.scalars(services.search_users("0988")).all() == []
    assert [u.full_name for u in db.session.scalars(services.search_users("luc"))] == ["Phạm Văn Lực"]
    by_name = db.session.scalars(services.search_users("Mai")).all()
    assert [u.full_name for u in by_name] == ["Đỗ Thị Mai"]


def test_imported_trainee_logs_in_once_with_an_activation_code(app):
    user = make_trainee(password=None)
    code = services.issue_activation_code(user)
    assert user.activation_code_hash and code not in user.activation_code_hash
    assert services.authenticate(user.phone, "00000000") is None
    assert services.authenticate(user.phone, code) is user
    assert user.must_change_password
    assert services.authenticate(user.phone, code) is None  # used up


def test_a_new_activation_code_replaces_the_old_one(app):
    user = make_trainee(password=None)
    old = services.issue_activation_code(user)
    new = services.issue_activation_code(user)
    assert services.authenticate(user.phone, old) is None
    assert services.authenticate(user.phone, new) is user


def test_two_registrations_of_one_phone_at_once_tell_the_second_it_is_taken(app, monkeypatch, caplog):
    from lms.accounts.models import User

    first = services.register_trainee(full_name="Nguyễn Thị Hường", phone="0912777001", password="mat-khau-dai-1")
    db.session.commit()
    # The second request checked before the first committed: its check found nothing.
    real_scalar, calls = db.session.scalar, []

    def missed_once(*args, **kwargs):
        if not calls:
            calls.append(1)
            return None
        return real_scalar(*args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", missed_once)
    with pytest.raises(services.PhoneAlreadyRegistered):
        services.register_trainee(full_name="Trần Văn Bình", phone="0912 777 001", password="mat-khau-dai-2")
    monkeypatch.undo()
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.phone == first.phone)) == 1
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "0912777001" not in logged and "argon2" not in logged


@pytest.mark.parametrize("password", ["iloveyou", "Password123", "matkhau123", "anhyeuem", "12345678a", "15081985",
                                      "1985-08-15", "15/08/1985"])
def test_the_most_used_passwords_and_bare_dates_are_refused(app, password):
    with pytest.raises(services.WeakPassword):
        services.check_password_strength(password, "0912777002")


@pytest.mark.parametrize("password", ["Hoa sen nở 2026", "mat-khau-dai-1", "15081985xanh", "99887766"])
def test_other_passwords_are_kept(app, password):
    services.check_password_strength(password, "0912777002")


def test_the_sql_search_and_the_class_page_s_matcher_agree_on_every_query(app):
    from lms.core.text import fold_diacritics, person_matcher

    people = [make_trainee(full_name=name, phone=phone) for name, phone in (
        ("Nguyễn Thị Hường", "0912345678"), ("Lê Thị Phương", "0988111222"), ("Đỗ Văn Đức", "0977333678"),
        ("Trần Thị Thu Hà", "0355123456"))]
    for query in ("huong", "HƯỜNG", "thi h", "phuong", "duc", "đức", "do van", "678", "345 678", "0912",
                  "0912345", "+84 912 345 678", "ha", "thu h", "x", "100%", "_"):
        matches = person_matcher(query)
        expected = sorted(p.phone for p in people if matches(fold_diacritics(p.full_name), p.phone))
        found = sorted(u.phone for u in db.session.scalars(services.search_users(query)))
        assert found == expected, query
