"""Locale and time zone selection, and the translation helpers the code imports."""

import flask_babel
from flask import current_app, g, request, session
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


def current_translations():
    """Return the catalogue for the current locale, remembered for the request while the locale stays."""
    # Flask-Babel looks the locale and catalogue up again for every message (about eight context
    # lookups each; a page has dozens of messages). Its per-request state lives in g._flask_babel;
    # the catalogue is kept beside the Locale object it was found for, so force_locale and
    # refresh(), which replace that object, still switch language at once.
    state = g.get("_flask_babel") if g else None
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        return flask_babel.get_translations()
    cached = getattr(state, "lms_translations", None)
    if cached is None or cached[0] is not locale:
        cached = state.lms_translations = (locale, flask_babel.get_translations())
    return cached[1]


def install_template_gettext(app) -> None:
    """Let templates translate through current_translations()."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
