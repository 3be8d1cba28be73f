"""Forms for authoring quizzes and taking them, and the JSON bodies of the quiz API."""

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from lms.accounts.forms import strip_text
from lms.core.forms import FlaskForm, Form
from lms.core.i18n import lazy_gettext as _l
from lms.core.params import MAX_ID
from lms.quizzes.models import QuestionKind
from lms.quizzes.services import MAX_ATTEMPTS_LIMIT, MAX_CHOICES, MAX_POINTS

UUID_RULE = Regexp(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class QuizSettingsForm(FlaskForm):
    pass_percent = IntegerField(
        _l("Pass mark (%)"), default=70,
        validators=[DataRequired(_l("Enter the pass mark.")), NumberRange(min=1, max=100)],
        render_kw={"inputmode": "numeric"},
        description=_l("A trainee who scores at least this passes and completes the lesson."))
    max_attempts = IntegerField(
        _l("Attempts allowed"), default=3, validators=[Optional(), NumberRange(min=1, max=MAX_ATTEMPTS_LIMIT)],
        render_kw={"inputmode": "numeric"}, description=_l("Leave empty to allow any number of attempts."))
    shuffle_questions = BooleanField(_l("Show the questions in a different order for each attempt"), default=True)
    shuffle_choices = BooleanField(_l("Show the answers in a different order for each attempt"), default=True)


class ChoiceRowForm(Form):
    """One answer row of the question form; an empty row is ignored."""

    text = StringField(_l("Answer"), validators=[Optional(), Length(max=500)], filters=[strip_text])
    is_correct = BooleanField(_l("Correct"))


class QuestionForm(FlaskForm):
    kind = RadioField(_l("Kind of question"), choices=QuestionKind.choices, default=QuestionKind.SINGLE.value)
    text = TextAreaField(_l("Question"), validators=[DataRequired(_l("Write the question.")), Length(max=2000)],
                         render_kw={"rows": 3})
    choices = FieldList(FormField(ChoiceRowForm), min_entries=MAX_CHOICES, max_entries=MAX_CHOICES)
    statement_is_true = RadioField(_l("The statement is"), choices=[SelectChoice("true", _l("True")), SelectChoice("false", _l("False"))],
                                   validators=[Optional()], validate_choice=False)
    explanation = TextAreaField(
        _l("Explanation"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3},
        description=_l("Shown to the trainee after answering: why the right answer is right."))
    points = IntegerField(_l("Points"), default=1, validators=[DataRequired(), NumberRange(min=1, max=MAX_POINTS)],
                          render_kw={"inputmode": "numeric"})
    image_media_id = HiddenField()
    remove_image = BooleanField(_l("Remove the picture"))

    def choice_rows(self) -> list[tuple[str, bool]]:
        """Return (text, is_correct) of the answer rows, or the true/false pair."""
        if self.kind.data == QuestionKind.TRUE_FALSE.value:
            from lms.quizzes.services import true_false_choices

            if self.statement_is_true.data not in {"true", "false"}:
                return []
            return true_false_choices(self.statement_is_true.data == "true")
        return [(row.form.text.data or "", bool(row.form.is_correct.data)) for row in self.choices]


class AttemptForm(FlaskForm):
    """The answer sheet; the chosen choices arrive as q<question id> fields, read by answers()."""

    attempt = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,6}$")])
    #: Made fresh each time the page is drawn: a double tap or a resent form counts once.
    submission_id = HiddenField(validators=[DataRequired(), UUID_RULE])
    #: Set once the trainee has been warned about unanswered questions.
    confirm_unanswered = HiddenField()

    def answers(self, formdata, question_ids) -> dict[int, list[int]]:
        return {qid: [int(v) for v in formdata.getlist(f"q{qid}") if v.isdigit()] for qid in question_ids}


# --- JSON bodies of the API (validated with pydantic, published in the OpenAPI document) ---


#: A question id as a JSON object key: digits only, within an id column's range.
QuestionKey = Annotated[int, Field(ge=1, le=MAX_ID), WithJsonSchema({"type": "string", "pattern": "^[1-9][0-9]{0,8}$"})]


class SubmissionIn(BaseModel):
    """A finished answer sheet; its id makes it safe to send again (after a lost answer, or offline)."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="Made by the client (UUID v4); the same id is graded once.")
    attempt: int = Field(gt=0, le=MAX_ID, description="The attempt's number (1, 2, 3…) as the attempt page gave it.")
    answers: dict[QuestionKey, Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=MAX_CHOICES)]] = Field(
        default_factory=dict, max_length=500, json_schema_extra={"additionalProperties": False},
        description="Question id -> chosen choice ids; a question left out counts as unanswered.")


class QuestionResultOut(BaseModel):
    question_id: int
    correct: bool
    points: int = Field(description="Points scored for this question.")
    max_points: int
    chosen: list[int]
    correct_choices: list[int]
    explanation: str


class SubmissionOut(BaseModel):
    id: str
    attempt: int
    score: int
    max_score: int
    percent: int
    pass_percent: int
    passed: bool
    attempts_left: int | None = Field(description="None when there is no limit.")
    questions: list[QuestionResultOut]
