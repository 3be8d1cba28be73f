"""Forms for classes and their sessions."""

from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lms.accounts.forms import MultiCheckboxField, PlaceFieldsMixin, strip_text
from lms.core.forms import FlaskForm
from lms.i18n import lazy_gettext as _l

WEEKDAYS = [SelectChoice(n, label) for n, label in enumerate(
    (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday")))]


class CohortForm(PlaceFieldsMixin, FlaskForm):
    commune_required = False
    code = StringField(_l("Class code"), validators=[DataRequired(_l("Enter a class code.")), Length(max=32)],
                       filters=[strip_text], description=_l("Short, printed on lists: e.g. PX-VBBH-01"))
    course = SelectField(_l("Course"), coerce=int)
    name = StringField(_l("Class name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)],
                       filters=[strip_text])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)], filters=[strip_text],
                        description=_l("E.g. Hội trường UBND xã Chuyên Mỹ"))
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=1, max=10000)],
                            render_kw={"inputmode": "numeric"})
    instructors = MultiCheckboxField(_l("Instructors"), coerce=int)


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
    weekdays = SelectMultipleField(_l("Every"), coerce=int, choices=WEEKDAYS,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                   validators=[DataRequired(_l("Choose at least one day of the week."))])
    count = IntegerField(_l("Number of sessions"), default=8, validators=[DataRequired(), NumberRange(min=1, max=200)],
                         render_kw={"inputmode": "numeric"})


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (told to the trainees)"), validators=[Optional(), Length(max=300)],
                         filters=[strip_text])
