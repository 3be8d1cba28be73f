import sqlalchemy as sa

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.core.extensions import db


def test_users_create_with_several_roles(runner, app):
    result = runner.invoke(args=["users", "create", "--role", "instructor", "--role", "organizer",
                                 "--phone", "+84 983 111 222", "--name", "Trần Văn Đức", "--password", "giang-vien-1"])
    assert result.exit_code == 0, result.output
    user = services.authenticate("0983111222", "giang-vien-1")
    assert user.roles == {Role.INSTRUCTOR, Role.ORGANIZER}
    assert user.full_name == "Trần Văn Đức"


def test_users_create_prompts_for_the_password(runner, app):
    result = runner.invoke(args=["users", "create", "--role", "admin", "--phone", "0983111333", "--name", "Quản trị"],
                           input="mat-khau-quan-tri\nmat-khau-quan-tri\n")
    assert result.exit_code == 0, result.output
    assert services.authenticate("0983111333", "mat-khau-quan-tri") is not None


def test_users_create_refuses_a_bad_or_taken_phone(runner, app):
    bad = runner.invoke(args=["users", "create", "--role", "admin", "--phone", "123", "--name", "X", "--password", "abcdefgh12"])
    assert bad.exit_code != 0 and "phone" in bad.output.lower()
    runner.invoke(args=["users", "create", "--role", "admin", "--phone", "0983111444", "--name", "A", "--password", "abcdefgh12"])
    taken = runner.invoke(args=["users", "create", "--role", "admin", "--phone", "0983111444", "--name", "B", "--password", "abcdefgh12"])
    assert taken.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_seed_demo_prints_the_demo_accounts(runner, app):
    result = runner.invoke(args=["seed", "demo", "--trainees", "25", "--random-seed", "3"])
    assert result.exit_code == 0, result.output
    assert "0900000004" in result.output and "25 trainees generated" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 5 + 6 + 25  # demo accounts, classmates, generated


def test_users_create_refuses_a_foreign_phone_in_vietnamese(runner, app):
    refused = runner.invoke(args=["users", "create", "--role", "admin", "--phone", "0033612345678", "--name", "X",
                                  "--password", "abcdefgh12"])
    assert refused.exit_code != 0
    assert "số nước ngoài (mã quốc gia +33)" in refused.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
