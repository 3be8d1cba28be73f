"""Forms for handing in and reviewing practical work, and the JSON bodies of its API."""

import uuid
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
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
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, Regexp

from lms.accounts.forms import strip_text
from lms.assignments.models import DEFAULT_MAX_PHOTOS
from lms.assignments.services import MAX_LEVELS, MAX_LINKS, MAX_POINTS, MAX_TEXT_CHARS, PHOTO_LIMIT
from lms.core.forms import FlaskForm, Form
from lms.core.i18n import lazy_gettext as _l

UUID_RULE = Regexp(r"^[0-9a-fA-F-]{36}$", message=_l("The form is out of date. Reload the page."))
#: Link fields shown at first; more open under "Add another link".
LINK_FIELDS = 5


def split_ids(value: str | None) -> list[str]:
    """Return the media ids of a comma-separated hidden field."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class SubmissionForm(FlaskForm):
    """The hand-in form on a practical-work lesson; client_id makes a double tap count once."""

    text = TextAreaField(_l("Your text"), validators=[Optional(), Length(max=MAX_TEXT_CHARS)],
                         render_kw={"rows": 8},
                         description=_l("For example the sales post you wrote, as you would publish it."))
    links = FieldList(StringField(_l("Link"), filters=[strip_text],
                                  render_kw={"inputmode": "url", "autocomplete": "off",
                                             "placeholder": "https://"}),
                      min_entries=LINK_FIELDS, max_entries=MAX_LINKS)
    photo_ids = HiddenField()
    video_id = HiddenField()
    client_id = HiddenField(validators=[DataRequired(), UUID_RULE], default=lambda: str(uuid.uuid4()))

    def media_ids(self) -> list[str]:
        return split_ids(self.photo_ids.data) + split_ids(self.video_id.data)


class AssignmentForm(FlaskForm):
    """What trainees may hand in."""

    accepts_text = BooleanField(_l("A text (e.g. a sales post)"), default=True)
    accepts_links = BooleanField(_l("Links (Facebook, TikTok, YouTube, Shopee, Zalo…)"), default=True)
    max_photos = IntegerField(_l("Most photos"), default=DEFAULT_MAX_PHOTOS,
                              validators=[Optional(), NumberRange(min=0, max=PHOTO_LIMIT)],
                              render_kw={"inputmode": "numeric", "min": 0, "max": PHOTO_LIMIT},
                              description=_l("0 means no photos."))
    accepts_video = BooleanField(_l("One short video"), default=True)


class LevelForm(Form):
    """One level row of a criterion (no CSRF of its own: it sits inside CriterionForm)."""

    title = StringField(_l("Name of the level"), validators=[Optional(), Length(max=120)], filters=[strip_text],
                        render_kw={"placeholder": _l("e.g. Pass")})
    points = IntegerField(_l("Points"), validators=[Optional(), NumberRange(min=0, max=MAX_POINTS)],
                          render_kw={"inputmode": "numeric", "min": 0, "max": MAX_POINTS})
    # Not "description": every field already has that attribute (its hint).
    detail = StringField(_l("What it looks like"), validators=[Optional(), Length(max=500)],
                         filters=[strip_text])


class CriterionForm(FlaskForm):
    """A rubric criterion with up to four levels."""

    title = StringField(_l("What is judged"), validators=[DataRequired(_l("Enter what is judged.")), Length(max=200)],
                        filters=[strip_text])
    description = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    levels = FieldList(FormField(LevelForm), min_entries=MAX_LEVELS, max_entries=MAX_LEVELS)

    def level_specs(self) -> list[tuple[str, int, str]]:
        return [(row.title.data or "", row.points.data or 0, row.detail.data or "")
                for row in self.levels if (row.title.data or "").strip()]


class ArrangeForm(FlaskForm):
    """Move or delete a criterion."""

    action = HiddenField(validators=[AnyOf(["up", "down", "delete"])])


class ReviewForm(FlaskForm):
    """A review: "Approve" or "Please redo" (the two buttons), a comment and one level per criterion."""

    decision = HiddenField(validators=[DataRequired(), AnyOf(["approve", "redo"])])
    comment = TextAreaField(_l("Comment for the trainee"), validators=[Optional(), Length(max=MAX_TEXT_CHARS)],
                            render_kw={"rows": 5},
                            description=_l("Say what is good and what to change. Needed when asking for a redo."))

    def criterion_fields(self) -> list:
        return [field for name, field in self._fields.items() if name.startswith("criterion_")]

    def levels(self) -> dict[int, int]:
        return {int(f.name.removeprefix("criterion_")): f.data for f in self.criterion_fields() if f.data}


def review_form_for(assignment) -> type[ReviewForm]:
    """Return a review form class with one radio group per rubric criterion."""

    class RubricReviewForm(ReviewForm):
        pass

    for criterion in assignment.criteria:
        choices = [SelectChoice(level.id, level.title) for level in criterion.levels]
        setattr(RubricReviewForm, f"criterion_{criterion.id}",
                RadioField(criterion.title, choices=choices, coerce=int, validators=[Optional()]))
    return RubricReviewForm


# --- JSON bodies of the API (validated with pydantic, published in the OpenAPI document) ------------


class SubmissionIn(BaseModel):
    """A hand-in made on the phone; its client_id makes it safe to send again after time offline."""

    model_config = ConfigDict(extra="forbid")

    client_id: UUID = Field(description="Made by the client (UUID v4); the same id hands the work in once.")
    text: str = Field(default="", max_length=MAX_TEXT_CHARS, description="The trainee's text, e.g. a sales post.")
    links: list[str] = Field(default_factory=list, max_length=MAX_LINKS,
                             description="Web addresses (http or https) where the work is online.")
    media_ids: list[str] = Field(default_factory=list, max_length=PHOTO_LIMIT + 1,
                                 description="Ids of photos and a video uploaded with purpose \"submission\".")


class LinkOut(BaseModel):
    url: str
    platform: Literal["facebook", "tiktok", "youtube", "shopee", "zalo", "other"]


class LevelOut(BaseModel):
    criterion: str
    level: str
    points: int


class SubmissionOut(BaseModel):
    id: int
    lesson_id: int
    number: int = Field(description="1 for the first hand-in, 2 after the first \"please redo\", …")
    status: Literal["submitted", "approved", "needs_revision"]
    status_label: str
    client_id: str | None
    submitted_at: datetime
    text: str
    links: list[LinkOut]
    media_ids: list[str]
    reviewed_at: datetime | None = None
    comment: str | None = None
    score: int | None = None
    levels: list[LevelOut] = Field(default_factory=list)
