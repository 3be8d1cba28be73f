"""Forms for taking attendance and checking in."""

from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Regexp

from lms.attendance.checkin import CODE_DIGITS
from lms.attendance.models import AttendanceStatus
from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import normalize_code


def strip(value: str | None) -> str:
    return (value or "").strip()


class MarkForm(FlaskForm):
    """One tap on the roll call: a trainee's status. The buttons carry the value."""

    status = StringField(validators=[AnyOf([s.value for s in AttendanceStatus])])
    #: The roll call's search, kept so the page comes back as it was.
    q = HiddenField(filters=[strip])


class CodeForm(FlaskForm):
    """A trainee types the 6-digit code on the instructor's screen."""

    code = StringField(
        _l("Code on the screen"),
        filters=[normalize_code],  # people type "123 456" or "123-456"
        validators=[DataRequired(_l("Type the 6 digits on the instructor's screen.")),
                    Regexp(rf"^\d{{{CODE_DIGITS}}}$", message=_l("The code has 6 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 11,
                   "placeholder": "123456", "autofocus": True},
    )


class CardScanForm(FlaskForm):
    """An instructor scans (or types) a trainee's card."""

    card = StringField(
        _l("Card code"),
        filters=[strip],
        validators=[DataRequired(_l("Scan a card or type its code.")), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false", "autofocus": True},
    )
