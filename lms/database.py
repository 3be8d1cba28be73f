"""Column types and helpers shared by every domain's models."""

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back timezone-aware.

    SQLite keeps no offset; without this a time would come back naive and be
    shown seven hours off in Asia/Ho_Chi_Minh.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use lms.database.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class LabelledEnum(enum.StrEnum):
    """A state stored by its value, with a translated label for people."""

    @property
    def label(self) -> str:
        return str(self.labels().get(self, self.value))

    @classmethod
    def labels(cls) -> dict:
        """Return the translated label of each member; subclasses override."""
        return {}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """Return (value, label) pairs for a select field."""
        return [(m.value, m.label) for m in cls]


def enum_column_type(enum_cls: type[enum.Enum]) -> sa.Enum:
    """Return a portable column type that stores an enum member by its value."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def move_in_order(items: list, item, direction: str) -> bool:
    """Swap an item with its neighbour ("up" or "down") and renumber `position`; return False at either end.

    `items` are the siblings in their current order; parts, lessons, questions and rubric criteria
    are all reordered this way.
    """
    index = items.index(item)
    target = index - 1 if direction == "up" else index + 1
    if direction not in {"up", "down"} or not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, each in enumerate(items):
        each.position = position
    return True
