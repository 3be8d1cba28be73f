"""JSON bodies of the learning API (validated with pydantic, published in the OpenAPI document)."""

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ProgressEventIn(BaseModel):
    """One progress event, made on the phone; its id makes it safe to send again."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="Made by the client (UUID v4); the same id is applied once.")
    lesson_id: int = Field(gt=0)
    kind: Literal["open", "position", "complete"]
    occurred_at: AwareDatetime = Field(description="When it happened on the phone (ISO 8601 with offset).")
    position_s: float | None = Field(default=None, ge=0, le=86400, description="Video position to resume from.")
    segments: list[tuple[float, float]] = Field(
        default_factory=list, max_length=500,
        description="Stretches of video watched since the last event, [start, end] in seconds.")


class ProgressBatchIn(BaseModel):
    """Events replayed after time offline, in any order."""

    model_config = ConfigDict(extra="forbid")

    events: list[ProgressEventIn] = Field(min_length=1, max_length=500)


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
