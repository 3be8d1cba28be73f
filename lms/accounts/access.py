"""Access control: the role decorator every blueprint uses, and the account loader."""

import functools

from flask import abort, redirect, request, url_for
from flask_login import current_user

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


def get_user_or_404(user_id: int) -> User:
    """Load an account that the current staff member may see."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not current_user.has_role(Role.ADMIN, Role.ORGANIZER, Role.INSTRUCTOR):
        abort(404)
    return user
