"""JSON bodies of the learning API (validated with pydantic, published in the OpenAPI document)."""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from lms.core.i18n import gettext as _
from lms.core.params import MAX_ID

#: A position or stretch end, in seconds (no lesson is longer than a day).
Seconds = Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]

#: Events from before the app existed or from far ahead are a phone's wrong clock, not progress:
#: years 2020-2099 (a day's slack either side for the UTC offset).
EARLIEST = datetime(2019, 12, 31, tzinfo=UTC)
LATEST = datetime(2100, 1, 2, tzinfo=UTC)

# The same rule in the published schema, so generated clients and fuzzers know it: an ISO 8601
# time with an offset in 2020-2099 (29 February is left out of the pattern, not refused).
_MONTH_DAY = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
OCCURRED_AT_PATTERN = (rf"^20[2-9]\d-{_MONTH_DAY}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{{1,6}})?"
                       r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$")
PhoneTime = Annotated[AwareDatetime, WithJsonSchema({
    "type": "string", "pattern": OCCURRED_AT_PATTERN,
    "description": "When it happened on the phone: ISO 8601 with an offset, between 2020 and 2099."})]


class ProgressEventIn(BaseModel):
    """One progress event, made on the phone; its id makes it safe to send again."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="Made by the client (UUID v4); the same id is applied once.")
    lesson_id: int = Field(gt=0, le=MAX_ID)
    kind: Literal["open", "position", "complete"]
    occurred_at: PhoneTime
    position_s: Seconds | None = Field(default=None, description="Video position to resume from.")
    segments: list[tuple[Seconds, Seconds]] = Field(
        default_factory=list, max_length=500,
        description="Stretches of video watched since the last event, [start, end] in seconds, each ending "
                    "at or after its start (else 422). A stretch past the video's end makes the event invalid "
                    "(status \"invalid\"): only the server knows the video's length.")

    @field_validator("segments")
    @classmethod
    def _forward_stretches(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if any(end < start for start, end in value):
            raise ValueError(_("A watched stretch ends before it starts."))
        return value

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        try:
            utc = value.astimezone(UTC)
        except OverflowError:  # year 1 with a positive offset has no UTC time
            utc = None
        if utc is None or not EARLIEST <= utc < LATEST:
            raise ValueError(_("The phone's clock gives an impossible date: check the date on the phone."))
        return utc


class ProgressBatchIn(BaseModel):
    """Events replayed after time offline, in any order."""

    model_config = ConfigDict(extra="forbid")

    #: The phone sends its outbox in batches of at most this many: each event is a few queries,
    #: and a batch must finish well inside a client's timeout on a slow server.
    events: list[ProgressEventIn] = Field(min_length=1, max_length=100)


class LessonProgressOut(BaseModel):
    lesson_id: int
    position_s: float
    watched_percent: int
    completed: bool
    completed_at: str | None


class EventResultOut(BaseModel):
    id: str
    status: Literal["applied", "duplicate", "forbidden", "invalid"]
    message: str | None = None
    progress: LessonProgressOut | None = None


class ProgressBatchOut(BaseModel):
    results: list[EventResultOut]


class CourseProgressOut(BaseModel):
    course: str
    enrolled: bool
    percent: int
    completed_at: str | None
    resume_lesson: str | None
    lessons: list[LessonProgressOut]


class SyncStatusIn(BaseModel):
    """What the phone's outbox holds after a sending attempt, for staff to see."""

    model_config = ConfigDict(extra="forbid")

    #: More than a phone's outbox could sensibly hold is a broken client, not a fact worth keeping.
    waiting: int = Field(ge=0, le=100_000, description="Items still on the phone: not sent yet, or refused.")
    last_synced_at: PhoneTime | None = Field(
        default=None, description="When the queue was last emptied, by the server's clock (its Date header).")


class SyncStatusOut(BaseModel):
    waiting: int
    last_synced_at: str | None
    reported_at: str
