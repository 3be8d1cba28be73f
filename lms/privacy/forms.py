"""Forms for consent, deletion and other requests about personal data."""

from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.privacy.models import RequestKind


class ConsentForm(FlaskForm):
    """The notice's answer: a box the person ticks themselves, and "I agree" or "I do not agree"."""

    consent = BooleanField(
        _l("I have read the privacy notice and agree that my personal data is processed as it says."),
        default=False)


class DeletionForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(_l("Type your password to confirm that it is you."))],
        render_kw={"autocomplete": "current-password"},
    )


#: The kinds a person files in words; a deletion has its own page.
WRITTEN_KINDS = (RequestKind.CORRECTION, RequestKind.ACCESS, RequestKind.OBJECTION)


class RequestForm(FlaskForm):
    kind = SelectField(_l("What do you ask for?"),
                       validators=[DataRequired(_l("Choose what you ask for."))])
    details = TextAreaField(
        _l("Tell us more"),
        validators=[DataRequired(_l("Write what you ask for, for example which detail is wrong.")),
                    Length(max=2000, message=_l("Write at most 2,000 characters."))],
        description=_l("For example: my date of birth is wrong, it should be 12/03/1985."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Labels are translated at render time, in the reader's language.
        self.kind.choices = [SelectChoice(k.value, k.label) for k in WRITTEN_KINDS]


class RefuseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for refusing (the person will read it)"),
        validators=[DataRequired(_l("Write the reason for refusing: the person will read it.")),
                    Length(max=2000, message=_l("Write at most 2,000 characters."))])


class CompleteForm(FlaskForm):
    note = TextAreaField(_l("What was done (the person will read it)"),
                         validators=[Optional(), Length(max=2000, message=_l("Write at most 2,000 characters."))])
