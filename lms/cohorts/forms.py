"""Forms for classes and their sessions."""

from wtforms import (
    BooleanField,
    DateField,
    Field,
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

from lms.accounts.forms import ConfirmActionForm, MultiCheckboxField, PlaceFieldsMixin, strip_text
from lms.core.forms import FlaskForm
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.params import MAX_ID
from lms.core.places import MatchStatus, match_commune
from lms.core.text import normalize_text

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


# --- Choosing trainees on the class page, and what to do with them ----------------------------


class IdListField(Field):
    """Ids sent as repeated values (ticked boxes, hidden inputs); anything but a plain number makes the whole list unreadable."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=list, **kwargs)

    def process_formdata(self, valuelist):
        ids = []
        for value in valuelist:
            text = value.strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID):
                self.data = []
                raise ValueError(_l("The trainees chosen could not be read. Tick them again on the class page."))
            ids.append(int(text))
        self.data = ids


class ChosenMembersMixin:
    """The trainees ticked on the class page: the boxes ticked, or every one on the page shown."""

    #: CohortMember ids of the boxes ticked.
    member = IdListField()
    #: CohortMember ids of every trainee the page showed, for "select all on this page" (works without JavaScript).
    shown = IdListField()
    all = BooleanField(_l("Select all on this page"))

    def chosen_ids(self) -> list[int]:
        """Return the ids chosen; raise ValueError with a message when the form's ids cannot be read."""
        for field in (self.member, self.shown):
            if field.process_errors:
                raise ValueError(str(field.process_errors[0]))
        return self.shown.data if self.all.data else self.member.data


class ChooseMembersForm(ChosenMembersMixin, FlaskForm):
    """The class page's ticks, sent to a confirmation page that only reads."""

    class Meta:
        csrf = False  # a GET form: the confirmation page it opens changes nothing


def optional_id(value):
    """Read a select's id; anything else (a tampered form) gives None and the field's own message."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID else None


class MoveMembersForm(ChosenMembersMixin, ConfirmActionForm):
    target = SelectField(_l("Move them to class"), coerce=optional_id, validate_choice=False)

    def validate_target(self, field):
        if not field.data:
            raise ValidationError(_l("Choose the class to move them to."))


class WithdrawMembersForm(ChosenMembersMixin, ConfirmActionForm):
    reason = StringField(_l("Reason (optional, kept in the class's history)"),
                         validators=[Optional(), Length(max=300)], filters=[strip_text])
