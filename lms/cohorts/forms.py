"""Forms for classes and their sessions."""

from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from lms.accounts.forms import MultiCheckboxField, PlaceFieldsMixin, strip_text
from lms.core.forms import FlaskForm
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import normalize_text
from lms.places import MatchStatus, match_commune

WEEKDAYS = [SelectChoice(n, label) for n, label in enumerate(
    (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday")))]


class AtLeastOneChosen:
    """Require at least one ticked box, without marking each checkbox `required` in the HTML.

    DataRequired would put `required` on every checkbox, and the browser would then insist on all of them.
    """

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not field.data:
            raise StopValidation(self.message)


def commune_value(value):
    """Take a commune's code from the select, or keep a typed or pasted name for match_commune."""
    if value is None or isinstance(value, int):
        return value
    text = normalize_text(str(value))
    return int(text) if text.isdigit() and len(text) < 10 else text


class CohortEditForm(PlaceFieldsMixin, FlaskForm):
    """What can change about a class after it is created."""

    commune_required = False
    name = StringField(_l("Class name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)],
                       filters=[strip_text])
    commune = SelectField(_l("Commune / ward"), coerce=commune_value, validate_choice=False)
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)], filters=[strip_text],
                        description=_l("E.g. Hội trường UBND xã Chuyên Mỹ"))
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=1, max=10000)],
                            render_kw={"inputmode": "numeric"})
    instructors = MultiCheckboxField(_l("Instructors"), coerce=int)

    def validate_commune(self, field):
        """Accept the select's code, or a name as people write it ("phu xuyen"), in the chosen province."""
        if not isinstance(field.data, str) or not field.data:
            return super().validate_commune(field)
        match = match_commune(field.data, self.province.data)
        if match.status == MatchStatus.AMBIGUOUS:
            raise ValidationError(_("“%(value)s” could be %(communes)s. Choose one from the list.", value=field.data,
                                    communes=", ".join(c.full_name for c in match.candidates)))
        if not match.matched or match.commune.province_code != self.province.data:
            raise ValidationError(_l("Choose your commune or ward from the list."))
        field.data = match.commune.code


class CohortForm(CohortEditForm):
    code = StringField(_l("Class code"), validators=[DataRequired(_l("Enter a class code.")), Length(max=32)],
                       filters=[strip_text], description=_l("Short, printed on lists: e.g. PX-VBBH-01"))
    course = SelectField(_l("Course"), coerce=int)


class AddMemberForm(FlaskForm):
    phone = StringField(_l("Trainee's phone number"), validators=[DataRequired(_l("Enter the phone number."))],
                        render_kw={"inputmode": "tel"})


class SessionForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(_l("Choose a date."))])
    start = TimeField(_l("Starts at"), validators=[DataRequired(_l("Choose a time."))])
    end = TimeField(_l("Ends at"), validators=[DataRequired(_l("Choose a time."))])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)], filters=[strip_text])
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=200)], filters=[strip_text])


class SeriesForm(SessionForm):
    weekdays = MultiCheckboxField(_l("Every"), coerce=int, choices=WEEKDAYS, validators=[
        AtLeastOneChosen(_l("Choose at least one day of the week."))])
    count = IntegerField(_l("Number of sessions"), default=8,
                         validators=[InputRequired(_l("Enter how many sessions to schedule.")),
                                     NumberRange(min=1, max=200, message=_l("From 1 to 200 sessions."))],
                         render_kw={"inputmode": "numeric"})


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (told to the trainees)"), validators=[Optional(), Length(max=300)],
                         filters=[strip_text])
