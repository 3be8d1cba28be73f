"""The base of every form: WTForms' and Flask-WTF's own messages come through our catalogue.

Every form in the app imports ``FlaskForm`` (and sub-forms ``Form``) from here, never from
flask_wtf or wtforms, so "This field is required." or "Field must be between 8 and 128 characters
long." read in Vietnamese like the messages we write. WTForms ships no Vietnamese catalogue, so
its English msgids are in lms/translations/vi/LC_MESSAGES/messages.po with ours.
"""

import flask_wtf
import wtforms
from wtforms.validators import ValidationError

from lms.core.i18n import current_translations

__all__ = ["FlaskForm", "Form", "translations"]


class _CatalogueTranslations:
    """WTForms' translations protocol (gettext/ngettext), answered by the app's catalogue."""

    def gettext(self, string: str) -> str:
        return current_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return current_translations().ungettext(singular, plural, n)


translations = _CatalogueTranslations()


class _TranslatedCSRF(flask_wtf.FlaskForm.Meta.csrf_class):
    """Flask-WTF's form CSRF check, whose messages are plain English strings: translate them."""

    def validate_csrf_token(self, form, field):
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as exc:
            raise ValidationError(translations.gettext(str(exc.args[0]) if exc.args else "")) from None


class FlaskForm(flask_wtf.FlaskForm):
    """A Flask-WTF form (CSRF included) whose every message is in the user's language."""

    class Meta:
        csrf_class = _TranslatedCSRF

        def get_translations(self, form):
            return translations


class Form(wtforms.Form):
    """A form without CSRF, for sub-forms (FormField rows), with translated messages."""

    class Meta:
        def get_translations(self, form):
            return translations
