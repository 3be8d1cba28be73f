"""The rows of a trainee list: checked, planned against the class and its accounts, then written.

Four steps, each usable alone: ``read_table`` (headers.py, with lms.core.spreadsheets.read, which
decides the format by content, refuses bombs and non-spreadsheets before any reader opens the
file and opens a workbook in a child process with a memory and a time limit; a damaged file is
always ImportFileError), ``find_header`` (headers.py: which row holds the column names, which
column is which field), row checks (every row, every error, with the row number and column
letter a person sees; cells.py parses each cell) and the plan (what each row will do: new
trainee, existing account, already in the class). ``dry_run`` runs them and writes nothing;
``commit_import`` runs them again and writes everything in the caller's transaction, or nothing
when any row is wrong.

Existing accounts, decided here once (the dry run shows the outcome of every row):

* an account is matched by its canonical phone number only; nobody missing from the file is touched,
  nobody is ever deleted or taken out of the class;
* staff accounts (instructor, organizer, admin) are only added to the class: no field, no role changes;
* for trainees, empty fields (email, date of birth, commune, village, business) are filled from the
  file; a field that already has a different value keeps it (the row says so);
* the name is replaced only while the account has never been activated (no password yet: the
  organizer is still its only author), and never by the same name written without diacritics.
  Once a trainee has set a password the name is theirs.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from lms.accounts.bulk import create_trainees_in_bulk, update_accounts_in_bulk
from lms.accounts.models import STAFF_ROLES, User, UserRole
from lms.cohorts.importing.cells import (
    BUSINESS_MAX,
    VILLAGE_MAX,
    CellProblem,
    CommuneFinder,
    cell_text,
    is_blank,
    parse_birth_date,
    parse_email,
    parse_name,
    parse_optional_text,
    parse_phone,
    shorten,
)
from lms.cohorts.importing.headers import (
    FIELDS_BY_KEY,
    HEADER_SCAN_ROWS,
    MAX_ROWS,
    Header,
    Table,
    find_header,
    read_table,
)
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core.db import LabelledEnum, in_chunks
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.i18n import lazy_gettext as _l
from lms.core.text import fold_diacritics
from lms.core.timezone import local_today
from lms.learning.bulk import enroll_in_bulk
from lms.learning.models import Enrollment, EnrollmentSource


class ImportBlocked(Exception):
    """The import was refused because the file has errors; nothing was written."""

    def __init__(self, report: "ImportReport"):
        super().__init__("; ".join(report.all_error_texts()[:3]))
        self.report = report


class Outcome(LabelledEnum):
    NEW = "new"
    UPDATED = "updated"
    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    ERROR = "error"

    @classmethod
    def labels(cls):
        return {
            cls.NEW: _l("New trainee"),
            cls.UPDATED: _l("Existing account, details added"),
            cls.ENROLLED: _l("Existing account, added to the class"),
            cls.ALREADY_ENROLLED: _l("Already in the class"),
            cls.ERROR: _l("Has errors"),
        }


@dataclass(frozen=True)
class CellError:
    """One problem of one row, placed where the person will look for it."""

    row: int
    column: str | None
    header: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Row %(row)d, column %(column)s (%(header)s): %(message)s", row=self.row, column=self.column,
                     header=self.header, message=self.message)
        return _("Row %(row)d: %(message)s", row=self.row, message=self.message)

    def in_row(self) -> str:
        """Return the text without the row number (for a cell beside the row)."""
        if self.column:
            return _("Column %(column)s (%(header)s): %(message)s", column=self.column, header=self.header,
                     message=self.message)
        return self.message

    def to_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "header": self.header, "message": self.message}


@dataclass
class RowResult:
    number: int
    full_name: str = ""
    phone: str = ""
    values: dict = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: Outcome = Outcome.ERROR
    #: Labels of the fields an existing account gets from this row.
    changes: list[str] = field(default_factory=list)
    joins_class: bool = False
    user_id: int | None = None

    def to_dict(self) -> dict:
        return {"number": self.number, "full_name": self.full_name, "phone": self.phone,
                "outcome": self.outcome.value, "errors": [e.to_dict() for e in self.errors], "notes": self.notes,
                "changes": self.changes, "joins_class": self.joins_class}

    @classmethod
    def from_dict(cls, data: dict) -> "RowResult":
        return cls(number=data["number"], full_name=data["full_name"], phone=data["phone"],
                   errors=[CellError(**e) for e in data["errors"]], notes=list(data["notes"]),
                   outcome=Outcome(data["outcome"]), changes=list(data["changes"]), joins_class=data["joins_class"])


@dataclass
class ImportReport:
    """What a file would do to a class (dry run) or did (after commit)."""

    cohort_id: int
    format: str = ""
    sheet_name: str = ""
    #: 1-based spreadsheet row of the header, None when none was found.
    header_row: int | None = None
    columns: list[dict] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    skipped_empty_rows: int = 0
    committed: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(row.outcome for row in self.rows)
        return {outcome.value: counted.get(outcome, 0) for outcome in Outcome}

    @property
    def joining(self) -> int:
        return sum(1 for row in self.rows if row.joins_class)

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]

    @property
    def error_count(self) -> int:
        return sum(len(row.errors) for row in self.rows)

    @property
    def ready(self) -> bool:
        """True when the file can be imported: no file error, no row error, at least one row."""
        return not self.file_errors and not self.error_rows and bool(self.rows)

    @property
    def changes_anything(self) -> bool:
        return any(row.outcome != Outcome.ALREADY_ENROLLED for row in self.rows)

    def all_error_texts(self) -> list[str]:
        return list(self.file_errors) + [str(e) for row in self.rows for e in row.errors]

    def to_dict(self) -> dict:
        return {"cohort_id": self.cohort_id, "format": self.format, "sheet_name": self.sheet_name,
                "header_row": self.header_row, "columns": self.columns, "rows": [r.to_dict() for r in self.rows],
                "file_errors": self.file_errors, "skipped_empty_rows": self.skipped_empty_rows,
                "committed": self.committed}

    @classmethod
    def from_dict(cls, data: dict) -> "ImportReport":
        return cls(cohort_id=data["cohort_id"], format=data["format"], sheet_name=data["sheet_name"],
                   header_row=data["header_row"], columns=data["columns"],
                   rows=[RowResult.from_dict(r) for r in data["rows"]], file_errors=data["file_errors"],
                   skipped_empty_rows=data["skipped_empty_rows"], committed=data.get("committed", False))


_VALUE_FIELDS = ("full_name", "family_name", "given_name", "phone", "date_of_birth", "commune", "village",
                 "business_name", "email")


def _check_rows(table: Table, header: Header, finder: CommuneFinder, today: date) -> tuple[list[RowResult], int]:
    used = header.used
    data_columns = [c for key, c in used.items() if key in _VALUE_FIELDS]
    rows, skipped = [], 0
    first_row_of_phone: dict[str, int] = {}
    for index in range(header.data_start, len(table.rows)):
        raw = table.rows[index]
        if all(is_blank(raw[c.index]) for c in data_columns if c.index < len(raw)):
            skipped += 1  # an empty row, or a template row with only its number filled in
            continue
        result = _check_row(raw, index + 1, used, finder, today)
        phone = result.values.get("phone")
        if phone:
            first = first_row_of_phone.setdefault(phone, result.number)
            if first != result.number:
                column = used["phone"]
                result.errors.append(CellError(result.number, column.letter, column.header, _(
                    "The phone number %(phone)s is already on row %(first)d. Each trainee needs their own number.",
                    phone=phone, first=first)))
        # Left to right, as the person reads the row.
        result.errors.sort(key=lambda e: (e.column is None, len(e.column or ""), e.column or ""))
        rows.append(result)
    return rows, skipped


def _check_row(raw: list, number: int, used: dict, finder: CommuneFinder, today: date) -> RowResult:
    """Parse one row's cells into its values, with an error for each cell that is wrong."""
    result = RowResult(number=number)
    values = result.values

    def cell(key: str):
        column = used.get(key)
        return raw[column.index] if column is not None and column.index < len(raw) else None

    def problem(key: str, exc: CellProblem):
        column = used[key]
        result.errors.append(CellError(result.number, column.letter, column.header, str(exc)))

    if "full_name" in used:
        try:
            values["full_name"] = parse_name(cell("full_name"))
        except CellProblem as exc:
            problem("full_name", exc)
    else:
        family, given = cell_text(cell("family_name")), cell_text(cell("given_name"))
        try:
            values["full_name"] = parse_name(f"{family} {given}".strip())
        except CellProblem as exc:
            problem("given_name", exc)
    try:
        values["phone"] = parse_phone(cell("phone"))
    except CellProblem as exc:
        problem("phone", exc)
    if "date_of_birth" in used:
        try:
            values["date_of_birth"] = parse_birth_date(cell("date_of_birth"), today)
        except CellProblem as exc:
            problem("date_of_birth", exc)
    if "commune" in used:
        try:
            commune = finder.find(cell("commune"))
            values["commune_code"] = commune.code if commune else None
            if commune and finder.province_code and commune.province_code != finder.province_code:
                result.notes.append(_("The commune is outside the class's province: %(commune)s.",
                                      commune=commune.full_name))
        except CellProblem as exc:
            problem("commune", exc)
    for key, limit in (("village", VILLAGE_MAX), ("business_name", BUSINESS_MAX)):
        if key in used:
            try:
                values[key] = parse_optional_text(cell(key), limit)
            except CellProblem as exc:
                problem(key, exc)
    if "email" in used:
        try:
            values["email"] = parse_email(cell("email"))
        except CellProblem as exc:
            problem("email", exc)
    result.full_name = values.get("full_name") or cell_text(cell("full_name") or cell("given_name"))
    result.phone = values.get("phone") or cell_text(cell("phone"))
    return result


#: What the plan needs of an existing account; read as plain rows, not ORM objects (4,500 of those
#: with their roles cost a second).
_ACCOUNT_COLUMNS = (User.id, User.phone, User.full_name, User.email, User.date_of_birth, User.commune_code,
                    User.village, User.business_name, User.password_hash)
_FILLABLE = ("email", "date_of_birth", "commune_code", "village", "business_name")


@dataclass
class _Plan:
    accounts_by_phone: dict[str, sa.Row] = field(default_factory=dict)
    staff_ids: set[int] = field(default_factory=set)
    #: user id -> (member id, status) of everyone ever in the class.
    members_by_user: dict[int, tuple[int, MemberStatus]] = field(default_factory=dict)


def _folded_equal_with_fewer_marks(old: str, new: str) -> bool:
    return fold_diacritics(old) == fold_diacritics(new) and sum(not c.isascii() for c in new) <= sum(
        not c.isascii() for c in old)


def _name_replaces(account, new_name: str) -> bool:
    """Return True if the file's name replaces the account's (see the module's docstring)."""
    return (new_name != account.full_name and account.password_hash is None
            and not _folded_equal_with_fewer_marks(account.full_name, new_name))


def _plan_rows(cohort: Cohort, rows: list[RowResult]) -> _Plan:
    plan = _Plan()
    phones = sorted({row.values["phone"] for row in rows if row.values.get("phone")})
    for chunk in in_chunks(phones):
        for account in db.session.execute(sa.select(*_ACCOUNT_COLUMNS).where(User.phone.in_(chunk))):
            plan.accounts_by_phone[account.phone] = account
    ids = [account.id for account in plan.accounts_by_phone.values()]
    for chunk in in_chunks(ids):
        plan.staff_ids.update(db.session.scalars(sa.select(UserRole.user_id).where(
            UserRole.user_id.in_(chunk), UserRole.role.in_(STAFF_ROLES))))
    if cohort.id is not None:
        plan.members_by_user = {user_id: (member_id, status) for member_id, user_id, status in db.session.execute(
            sa.select(CohortMember.id, CohortMember.user_id, CohortMember.status)
            .where(CohortMember.cohort_id == cohort.id))}
    labels = {key: str(FIELDS_BY_KEY[key].label) for key in ("email", "date_of_birth", "village", "business_name")}
    labels["commune_code"] = str(FIELDS_BY_KEY["commune"].label)
    labels["full_name"] = str(FIELDS_BY_KEY["full_name"].label)
    for row in rows:
        if row.errors:
            row.outcome = Outcome.ERROR
            continue
        account = plan.accounts_by_phone.get(row.values["phone"])
        if account is None:
            row.outcome, row.joins_class = Outcome.NEW, True
            continue
        row.user_id = account.id
        member = plan.members_by_user.get(account.id)
        row.joins_class = member is None or member[1] != MemberStatus.ACTIVE
        if account.id in plan.staff_ids:
            row.notes.append(_("Staff account: only added to the class, nothing else changes."))
        else:
            kept = []
            for key in _FILLABLE:
                new = row.values.get(key)
                if new is None:
                    continue
                old = getattr(account, key)
                if old is None or old == "":
                    row.changes.append(labels[key])
                elif old != new:
                    kept.append(labels[key])
            new_name = row.values["full_name"]
            if _name_replaces(account, new_name):
                row.changes.append(labels["full_name"])
                row.notes.append(_("The name changes from “%(old)s”.", old=account.full_name))
            elif new_name != account.full_name:
                kept.append(labels["full_name"])
            if kept:
                row.notes.append(_("The account keeps its own: %(fields)s.", fields=", ".join(kept)))
        if row.changes:
            row.outcome = Outcome.UPDATED
        else:
            row.outcome = Outcome.ENROLLED if row.joins_class else Outcome.ALREADY_ENROLLED
    return plan


def _active_member_count(cohort: Cohort) -> int:
    if cohort.id is None:
        return 0
    return db.session.scalar(sa.select(sa.func.count(CohortMember.id)).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)) or 0


def _analyse(cohort: Cohort, data: bytes, today: date | None = None) -> tuple[ImportReport, _Plan | None]:
    table = read_table(data)
    report = ImportReport(cohort_id=cohort.id, format=table.format, sheet_name=table.sheet_name)
    header = table.header or find_header(table.rows)
    if header is None:
        report.file_errors.append(_(
            "No header row was found in the first %(n)d rows. The sheet needs columns such as “Họ và tên” and "
            "“Số điện thoại”.", n=HEADER_SCAN_ROWS))
        return report, None
    report.header_row = header.row_index + 1
    report.columns = [{"letter": c.letter, "header": c.header, "field": c.field,
                       "label": c.field_label if (c.field and not c.unused_reason) else "",
                       "unused_reason": c.unused_reason} for c in header.columns]
    if header.missing:
        names = {"full_name": _("full name (“Họ và tên”)"), "phone": _("phone number (“Số điện thoại”)")}
        found = ", ".join(f"{c.letter} “{shorten(c.header, 30)}”" for c in header.columns) or "-"
        report.file_errors.append(_("The sheet has no column for %(missing)s. Columns found on row %(row)d: %(found)s.",
                                    missing=", ".join(names[m] for m in header.missing),
                                    row=header.row_index + 1, found=found))
        return report, None
    province = None
    if cohort.commune_code:
        from lms.core.places import get_commune

        commune = get_commune(cohort.commune_code)
        province = commune.province_code if commune else None
    rows, report.skipped_empty_rows = _check_rows(table, header, CommuneFinder(province), today or local_today())
    report.rows = rows
    if not rows:
        report.file_errors.append(_("The sheet has no trainees: every row below the header is empty."))
        return report, None
    if len(rows) > MAX_ROWS:
        report.file_errors.append(_("The file has more than %(max)s rows of trainees. Split it into several files.",
                                    max=f"{MAX_ROWS:,}"))
        return report, None
    plan = _plan_rows(cohort, rows)
    if cohort.capacity is not None:
        current = _active_member_count(cohort)
        adding = report.joining
        if current + adding > cohort.capacity:
            report.file_errors.append(_(
                "The class takes %(capacity)d trainees; %(current)d are in it and this file would add %(adding)d. "
                "Raise the class's capacity or remove %(over)d rows.", capacity=cohort.capacity, current=current,
                adding=adding, over=current + adding - cohort.capacity))
    return report, plan


def dry_run(cohort: Cohort, data: bytes, *, today: date | None = None) -> ImportReport:
    """Check a file against a class and say what each row would do; write nothing.

    Raises ImportFileError when the file cannot be read at all (wrong kind, damaged, unsafe).
    """
    return _analyse(cohort, data, today)[0]


# --- Writing ----------------------------------------------------------------------------------


def commit_import(cohort: Cohort, data: bytes, *, today: date | None = None,
                  on_progress: Callable[[float], None] | None = None) -> ImportReport:
    """Import a file into a class, all or nothing: flush in the caller's transaction; the caller commits.

    Checks the file again (the database may have changed since the dry run) and raises ImportBlocked,
    writing nothing, when any row or the file has an error.
    """
    # Lock the class row (PostgreSQL) so two imports into one class cannot both pass the capacity check.
    db.session.execute(sa.select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())
    report, plan = _analyse(cohort, data, today)
    if not report.ready or plan is None:
        raise ImportBlocked(report)
    progress = on_progress or (lambda fraction: None)
    progress(0.3)
    _write(cohort, report, plan, progress)
    report.committed = True
    progress(1.0)
    return report


def _write(cohort: Cohort, report: ImportReport, plan: _Plan, progress: Callable[[float], None]) -> None:
    new_rows = [row for row in report.rows if row.outcome == Outcome.NEW]
    for done, chunk in enumerate(in_chunks(new_rows, 1_000)):
        ids = create_trainees_in_bulk([row.values for row in chunk])
        for row in chunk:
            row.user_id = ids[row.values["phone"]]
        progress(0.3 + 0.4 * min(1.0, (done + 1) * 1_000 / max(len(new_rows), 1)))
    updates = _account_updates(report, plan)
    update_accounts_in_bulk(updates)
    joining = [row.user_id for row in report.rows if row.joins_class]
    _add_members(cohort, joining, plan)
    progress(0.85)
    enroll_in_bulk(cohort.course_id, joining, source=EnrollmentSource.COHORT,
                   new_user_ids=[row.user_id for row in new_rows])
    db.session.flush()
    _expire_loaded(cohort, {u["id"] for u in updates} | set(joining))
    # Everyone who joins, new or returning, gets the same message a single addition sends.
    from lms.cohorts.services import tell_joined

    tell_joined(cohort, joining)


def _account_updates(report: ImportReport, plan: _Plan) -> list[dict]:
    """Return, for each existing trainee the file adds to, the empty fields it fills (and the name, when it may)."""
    updates = []
    for row in report.rows:
        if row.outcome != Outcome.UPDATED:
            continue
        account = plan.accounts_by_phone[row.values["phone"]]
        changed = {key: row.values[key] for key in _FILLABLE
                   if row.values.get(key) is not None and getattr(account, key) in (None, "")}
        if _name_replaces(account, row.values["full_name"]):
            changed["full_name"] = row.values["full_name"]
        updates.append({"id": account.id, **changed})
    return updates


def _add_members(cohort: Cohort, joining: list[int], plan: _Plan) -> None:
    """Put the joining users in the class: a new membership, or the old one active again."""
    new_members, returning = [], []
    for user_id in joining:
        member = plan.members_by_user.get(user_id)
        if member is None:
            new_members.append({"cohort_id": cohort.id, "user_id": user_id, "status": MemberStatus.ACTIVE})
        else:
            returning.append(member[0])
    if new_members:
        db.session.execute(sa.insert(CohortMember.__table__), new_members)
    for chunk in in_chunks(returning):
        db.session.execute(sa.update(CohortMember).where(CohortMember.id.in_(chunk))
                           .values(status=MemberStatus.ACTIVE, withdrawn_at=None))


def _expire_loaded(cohort: Cohort, user_ids: set[int]) -> None:
    # The writes above bypass the identity map: objects already loaded in this session (and kept
    # after commit, expire_on_commit being off) must be read again.
    db.session.expire(cohort, ["members"])
    for obj in list(db.session.identity_map.values()):
        user_id = obj.id if isinstance(obj, User) else getattr(obj, "user_id", None)
        if isinstance(obj, (User, CohortMember, Enrollment)) and user_id in user_ids:
            db.session.expire(obj)
