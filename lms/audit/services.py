"""Recording and reading the audit log. Functions here flush in the caller's transaction; the caller commits."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import has_request_context

from lms.audit import hooks
from lms.audit.models import AuditAction, AuditEvent, AuditObject
from lms.core.db import may_write
from lms.core.extensions import db
from lms.core.timezone import local_day_bounds, to_local

#: One line per event as well, for whoever reads the server's logs (ids only, like the table).
audit_log = logging.getLogger("lms.audit")


def record_event(action: AuditAction, actor, *, subject_id: int | None = None, object_kind: AuditObject | None = None,
                 object_ref: str = "", client_address: str | None = None) -> AuditEvent:
    """Record that actor did action to subject_id's data or to an object; flush, the caller commits.

    :param actor: the account acting (anything with ``id`` and ``roles``), or None for the system.
    :param object_ref: which object, by codes and ids joined with " · ", never a name or a phone number.
    """
    if has_request_context() and not may_write():
        # On SQLite a reading transaction cannot take the write lock once another writer went
        # first: the download would answer 503 under load. The view must say it writes.
        raise RuntimeError("a view that records an audit event must be marked @writes_database")
    roles = ",".join(sorted(str(getattr(role, "value", role)) for role in getattr(actor, "roles", ())))
    event = AuditEvent(action=action, actor_id=getattr(actor, "id", None), actor_roles=roles,
                       subject_id=subject_id, object_kind=object_kind, object_ref=(object_ref or "")[:200],
                       client_address=(client_address or None) and client_address[:45])
    db.session.add(event)
    db.session.flush()
    audit_log.info("account %s %s; subject account %s; object %s %s", event.actor_id, action.value,
                   subject_id or "-", object_kind.value if object_kind else "-", event.object_ref or "-")
    return event


@dataclass(frozen=True)
class AuditFilter:
    """Which events a screen or an export shows; dates are days in Vietnam, both ends included."""

    date_from: date | None = None
    date_to: date | None = None
    action: AuditAction | None = None
    actor_id: int | None = None
    subject_id: int | None = None
    #: Events recorded after this id are left out, so an export matches what its screen showed.
    up_to_id: int | None = None


def find_events(filters: AuditFilter) -> sa.Select:
    """Return the events that match, newest first."""
    stmt = sa.select(AuditEvent)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= local_day_bounds(filters.date_from)[0])
    if filters.date_to:
        stmt = stmt.where(AuditEvent.occurred_at < local_day_bounds(filters.date_to)[1])
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
    if filters.subject_id is not None:
        stmt = stmt.where(AuditEvent.subject_id == filters.subject_id)
    if filters.up_to_id is not None:
        stmt = stmt.where(AuditEvent.id <= filters.up_to_id)
    return stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


def last_event_id() -> int:
    """Return the id of the newest event (0 when there is none)."""
    return db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0


def describe_roles(recorded: str) -> str:
    """Return the labels of the roles recorded with an event."""
    return ", ".join(hooks.role_label(value) for value in recorded.split(",") if value)


def describe_object(event: AuditEvent) -> str:
    """Return what an event reached, as people read it: its kind's label, then its codes."""
    if event.object_kind is None:
        return event.object_ref
    ref = describe_roles(event.object_ref) if event.object_kind == AuditObject.ROLES else event.object_ref
    return f"{event.object_kind.label}: {ref}" if ref else event.object_kind.label


#: Columns of an export, in order (labels translated by the view).
EXPORT_COLUMNS = ("when", "actor_id", "actor", "actor_roles", "action", "subject_id", "subject", "object",
                  "client_address")


def export_rows(stmt: sa.Select, batch: int = 500) -> Iterator[tuple]:
    """Yield one row per event for a spreadsheet, times in Vietnam, with the names the screen shows."""
    events = db.session.scalars(stmt.execution_options(yield_per=batch))
    for chunk in events.partitions(batch):
        names = hooks.account_names([e.actor_id for e in chunk] + [e.subject_id for e in chunk])
        for e in chunk:
            yield (to_local(e.occurred_at).replace(tzinfo=None), e.actor_id, names.get(e.actor_id, ""),
                   describe_roles(e.actor_roles), e.action.label, e.subject_id, names.get(e.subject_id, ""),
                   describe_object(e), e.client_address or "")

