"""Access control: the role decorator every blueprint uses, which accounts staff may see, and the account loader."""

import functools

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_login import current_user

from lms.accounts import hooks
from lms.accounts.models import Role, User
from lms.core.extensions import db


def role_required(*roles: Role):
    """Let a view run only for logged-in users holding one of these roles (admins always)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path))
            if not current_user.has_role(Role.ADMIN, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def sees_every_account(user) -> bool:
    """Return True for admins and organizers, who run the programme and see every trainee."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN, Role.ORGANIZER)


def visible_accounts(staff) -> sa.ColumnElement[bool]:
    """Return the condition on User that keeps the accounts this staff member may see.

    Admins and organizers: every account. An instructor: their own, and the people the connected
    scopes give them (their courses' learners, their classes' members); nobody else.
    """
    if sees_every_account(staff):
        return sa.true()
    return sa.or_(User.id == staff.id, *(User.id.in_(scope(staff)) for scope in hooks.people_scopes()))


def shows_full_phone(staff) -> bool:
    """Return True if this staff member sees phone numbers unmasked without asking (organizers, admins)."""
    return sees_every_account(staff)


def get_user_or_404(user_id: int) -> User:
    """Load an account that the current staff member may see; 404 for any other (ids are sequential)."""
    if not current_user.has_role(Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR):
        abort(404)
    user = db.session.scalar(sa.select(User).where(User.id == user_id, visible_accounts(current_user)))
    if user is None:
        abort(404)
    return user


def may_read_audit_log(user) -> bool:
    """Return True for admins: the audit log names everyone whose data anyone reached."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN)
