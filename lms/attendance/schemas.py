"""JSON bodies of the attendance API (validated with pydantic, published in the OpenAPI document)."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from lms.learning.schemas import PhoneTime


class TypedCodeIn(BaseModel):
    """A 6-digit check-in code typed on the phone, perhaps offline, sent with the moment it was typed."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="Made by the client (UUID v4), so that the phone can send it again safely.")
    code: str = Field(min_length=1, max_length=12, description="The digits as typed (spaces allowed).")
    typed_at: PhoneTime


class TypedCodeOut(BaseModel):
    id: str
    status: Literal["checked_in", "already"]
    session_id: int
    arrival: str = Field(description="Present or late, in the reader's language.")
