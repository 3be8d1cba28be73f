"""Forms trainees use while learning."""

from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from lms.core.forms import FlaskForm

UUID_RULE = Regexp(r"^[0-9a-fA-F-]{36}$")


class LessonDoneForm(FlaskForm):
    """The 'Tôi đã học xong' button; the id makes a double tap count once."""

    event_id = HiddenField(validators=[DataRequired(), UUID_RULE])
