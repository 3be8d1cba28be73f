"""Locale and time zone selection, and the translation helpers the code imports."""

from flask import current_app, request, session
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user

__all__ = ["gettext", "lazy_gettext", "ngettext", "select_locale", "select_timezone"]


def select_locale() -> str:
    """Pick the language: the user's choice, else Vietnamese."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang") if request else None
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Show every time in Vietnam's time zone."""
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
