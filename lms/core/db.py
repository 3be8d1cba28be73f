"""Column types and helpers shared by every domain's models."""

import enum
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, request
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
            raise ValueError("naive datetime given; use lms.core.db.utcnow()")
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


#: Requests with these methods only read, unless their view is marked with `writes_database`.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: What the current unit of work said it will do (True: write, False: only read); None: judge by the request.
_WRITE_INTENT: ContextVar[bool | None] = ContextVar("lms_write_intent", default=None)


def writes_database(view):
    """Mark a GET view that writes (opening a lesson records it), so SQLite begins its transaction as a writer.

    Put it right under the route decorator: the attribute must sit on the function the route holds.
    """
    view.writes_database = True
    return view


@contextmanager
def transactions_that_write(write: bool = True):
    """Begin the transactions opened inside as writers (a job) or as readers (a long read beside writes)."""
    token = _WRITE_INTENT.set(write)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(token)


def may_write() -> bool:
    """Tell whether the transaction about to begin may write: in a job, or in a request that is not a plain read.

    Outside both (the shell, a test's own queries, a CLI command) it begins as a reader, as SQLite
    does by default; commands that write beside a running site say so with `transactions_that_write`.
    """
    intent = _WRITE_INTENT.get()
    if intent is not None:
        return intent
    if not has_request_context():
        return False
    if request.method not in READING_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "writes_database", False))


def insert_if_absent(session, model, values: dict, *, unique: list[str]) -> bool:
    """Insert a row unless one with the same `unique` columns exists, in one statement; return whether it did.

    Two requests creating the same row at once both succeed: one inserts, the other finds it.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(dialect)
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    key = model.__table__.primary_key.columns.values()[0]
    return session.execute(statement.returning(key)).first() is not None
