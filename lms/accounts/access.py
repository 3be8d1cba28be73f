"""Access control: role decorators shared by every blueprint."""

import functools

from flask import abort, redirect, request, url_for
from flask_login import current_user

from lms.accounts.models import Role


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
