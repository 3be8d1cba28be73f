"""Forms for authoring courses, modules and lessons."""

from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from lms.accounts.forms import MultiCheckboxField, strip_text
from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.courses.models import CourseLevel, CourseStatus, EnrollmentMode, LessonKind

SLUG_RULE = Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l("Use lowercase letters without accents, digits and hyphens."))


class CourseForm(FlaskForm):
    title = StringField(_l("Course title"), validators=[DataRequired(_l("Enter a title.")), Length(max=200)],
                        filters=[strip_text])
    slug = StringField(_l("Web address"), validators=[Optional(), Length(max=80), SLUG_RULE],
                       filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
                       description=_l("Made from the title when left empty, e.g. viet-bai-ban-hang."))
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=2000)],
                            render_kw={"rows": 4})
    level = SelectField(_l("Level"), choices=CourseLevel.choices, default=CourseLevel.BEGINNER.value)
    estimated_hours = IntegerField(_l("Estimated hours"), validators=[Optional(), NumberRange(min=1, max=500)],
                                   render_kw={"inputmode": "numeric"})
    status = SelectField(_l("Status"), choices=CourseStatus.choices, default=CourseStatus.DRAFT.value)
    enrollment_mode = SelectField(_l("Who may join"), choices=EnrollmentMode.choices, default=EnrollmentMode.OPEN.value)
    video_completion_percent = IntegerField(
        _l("A video counts as watched at (%)"), default=90, validators=[DataRequired(), NumberRange(min=10, max=100)],
        render_kw={"inputmode": "numeric"})
    instructors = MultiCheckboxField(_l("Instructors"), coerce=int, validate_choice=True)
    cover_media_id = HiddenField()


class ModuleForm(FlaskForm):
    title = StringField(_l("Part title"), validators=[DataRequired(_l("Enter a title.")), Length(max=200)],
                        filters=[strip_text])


class LessonForm(FlaskForm):
    title = StringField(_l("Lesson title"), validators=[DataRequired(_l("Enter a title.")), Length(max=200)],
                        filters=[strip_text])
    kind = SelectField(_l("Kind of lesson"), choices=LessonKind.choices, default=LessonKind.TEXT.value)
    module_id = SelectField(_l("Part"), coerce=int)
    body_markdown = TextAreaField(_l("Text"), validators=[Optional(), Length(max=200_000)],
                                  render_kw={"rows": 14},
                                  description=_l("Markdown: **bold**, ## heading, - list. Pictures are added with the button below."))
    required = BooleanField(_l("Required to complete the course"), default=True)
    media_id = HiddenField()


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[DataRequired()])
