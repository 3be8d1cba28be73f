"""Who may read the audit log: the rule accounts connects (admins), checked by the one decorator its views use."""

import functools

from flask import abort, redirect, request, url_for
from flask_login import current_user

from lms.audit import hooks


def audit_reader_required(view):
    """Let a view run only for a logged-in user whom a connected rule lets read the log; 403 for others."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path))
        if not hooks.may_read(current_user):
            abort(403)  # as role_required answers a staff page to a wrong role
        return view(*args, **kwargs)

    return wrapped
