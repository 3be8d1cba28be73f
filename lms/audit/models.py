"""The audit log: one row each time someone reaches personal data beyond their own."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.core.db import LabelledEnum, UTCDateTime, enum_column_type, utcnow
from lms.core.extensions import db
from lms.core.i18n import lazy_gettext as _l


class AuditAction(LabelledEnum):
    EXPORTED_LIST = "exported_list"
    REVEALED_PHONE = "revealed_phone"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - the name of an action, not a password
    ISSUED_CODES = "issued_codes"
    IMPERSONATED = "impersonated"
    CHANGED_ROLES = "changed_roles"
    VIEWED_DATA_EXPORT = "viewed_data_export"
    DOWNLOADED_OWN_DATA = "downloaded_own_data"
    HANDLED_DATA_REQUEST = "handled_data_request"
    DOWNLOADED_REPORT = "downloaded_report"
    MOVED_TO_CLASS = "moved_to_class"
    WITHDREW_FROM_CLASS = "withdrew_from_class"

    @classmethod
    def labels(cls):
        return {
            cls.EXPORTED_LIST: _l("Exported a list of people"),
            cls.REVEALED_PHONE: _l("Revealed a phone number"),
            cls.RESET_PASSWORD: _l("Reset a password"),
            cls.ISSUED_CODES: _l("Issued activation codes"),
            cls.IMPERSONATED: _l("Acted as another account"),
            cls.CHANGED_ROLES: _l("Changed roles"),
            cls.VIEWED_DATA_EXPORT: _l("Viewed another person's data"),
            cls.DOWNLOADED_OWN_DATA: _l("Downloaded their own data"),
            cls.HANDLED_DATA_REQUEST: _l("Handled a data request"),
            cls.DOWNLOADED_REPORT: _l("Downloaded a report"),
            cls.MOVED_TO_CLASS: _l("Moved a trainee to another class"),
            cls.WITHDREW_FROM_CLASS: _l("Withdrew a trainee from a class"),
        }


class AuditObject(LabelledEnum):
    """What kind of thing an event reached; its codes go in object_ref."""

    ATTENDANCE = "attendance"
    ATTENDANCE_SUMMARY = "attendance_summary"
    ATTENDANCE_FILE = "attendance_file"
    SIGN_IN_SHEET = "sign_in_sheet"
    IMPORT_ERRORS = "import_errors"
    CLASS_MEMBERSHIP = "class_membership"
    ACTIVATION_SLIPS = "activation_slips"
    CERTIFICATE_REGISTER = "certificate_register"
    AUDIT_LOG = "audit_log"
    OWN_DATA = "own_data"
    ROLES = "roles"
    PRIVACY_REQUEST = "privacy_request"
    PROGRAMME_LIST = "programme_list"
    PROGRAMME_REPORT = "programme_report"

    @classmethod
    def labels(cls):
        return {
            cls.ATTENDANCE: _l("Attendance"),
            cls.ATTENDANCE_SUMMARY: _l("Attendance summary"),
            cls.ATTENDANCE_FILE: _l("Attendance file made in the background"),
            cls.SIGN_IN_SHEET: _l("Sign-in sheet"),
            cls.IMPORT_ERRORS: _l("Trainee list with its errors"),
            cls.CLASS_MEMBERSHIP: _l("Place in a class"),
            cls.ACTIVATION_SLIPS: _l("Activation slips"),
            cls.CERTIFICATE_REGISTER: _l("Certificate register"),
            cls.AUDIT_LOG: _l("Audit log"),
            cls.PROGRAMME_LIST: _l("List of trainees behind a programme figure"),
            cls.OWN_DATA: _l("Their own data"),
            cls.ROLES: _l("Roles"),
            cls.PRIVACY_REQUEST: _l("Personal data request"),
            cls.PROGRAMME_REPORT: _l("Programme report"),
        }


class AuditEvent(db.Model):
    """One access to personal data. Ids only: the log must not become another copy of what it guards."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: No foreign key on purpose: the log outlives accounts and must never change when one goes.
    actor_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    #: The actor's roles when it happened (values, comma-separated): roles change, the log does not.
    actor_roles: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[AuditAction] = mapped_column(enum_column_type(AuditAction), index=True)
    #: The account whose data was reached, when there is one (a list names no single person).
    subject_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    #: What kind of thing was reached (a class's attendance, the certificate register…), if not only a person.
    object_kind: Mapped[AuditObject | None] = mapped_column(enum_column_type(AuditObject))
    #: Which one, by codes and ids only ("PX-VBBH-01 · csv"), never by a name or a phone number.
    object_ref: Mapped[str] = mapped_column(sa.String(200), default="")
    client_address: Mapped[str | None] = mapped_column(sa.String(45))


class AuditLogIsAppendOnly(Exception):
    """Raised when anything tries to change or remove an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("audit events cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state):
    # session.execute(update(AuditEvent)) skips the mapper events above: refuse it here.
    if (state.is_update or state.is_delete) and AuditEvent.__table__ in _tables_of(state.statement):
        raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")


def _tables_of(statement) -> set:
    table = getattr(statement, "table", None)
    return {table} if table is not None else set()
