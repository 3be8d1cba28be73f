"""Attendance exports that organizers send to the authorities, streamed from the database.

What every export counts (the workbook's "Ghi chú" sheet says the same to its readers):

- Sessions: those not cancelled that start within the date range (dates in Vietnam time) and have
  started by the time of export. Cancelled sessions, and sessions still to come, are left out of
  every sheet and every total: a report tells what happened.
- Trainees: the members in each class at the time of export; withdrawn trainees are left out
  (their records stay in the database).
- A trainee with no record for a session is "Chưa điểm danh" (blank in the roster) and the session
  still counts as held for them; unless it started before they joined the class: then it is
  "Chưa vào lớp" ("–" in the roster) and does not count for them (figures.counts_for_member). A
  session they were marked for counts with its mark, before joining or not.
- % attended is figures.AttendanceFigure's, the one every screen and the completion rule show:
  (present + late) / (held − excused) × 100, rounded half up to one decimal.
- Filters: ``course_slug`` is the class's course, ``commune_code`` the commune the class is held in.

The report is a form for the authorities, so its wording is Vietnamese whatever language the
organizer reads the site in; it is kept here, with the codes C/M/V/P that must match it.

Rows stream: three ordered queries (sessions, members, records, each read with ``yield_per``) are
merged class by class, so memory holds one class at a time, never the whole export.
"""

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from lms.accounts.models import User
from lms.attendance.figures import RULE, AttendanceFigure, counts_for_member, held_conditions
from lms.attendance.models import AttendanceRecord, AttendanceStatus, CheckInMethod
from lms.cohorts.models import ClassSession, Cohort, CohortMember, MemberStatus
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.places import get_commune
from lms.core.spreadsheets.write import iter_csv, write_csv, write_xlsx
from lms.core.text import fold_diacritics, mask_phone, name_order
from lms.core.timezone import VIETNAM, local_today, start_of_local_day
from lms.courses.models import Course

_YIELD_PER = 2000
#: A progress callback hears how many detail rows are written after every this many.
PROGRESS_EVERY = 5000

STATUS_LABELS = {
    AttendanceStatus.PRESENT: "Có mặt",
    AttendanceStatus.LATE: "Đi muộn",
    AttendanceStatus.ABSENT: "Vắng",
    AttendanceStatus.EXCUSED: "Vắng có phép",
}
STATUS_CODES = {
    AttendanceStatus.PRESENT: "C",
    AttendanceStatus.LATE: "M",
    AttendanceStatus.ABSENT: "V",
    AttendanceStatus.EXCUSED: "P",
}
NOT_MARKED = "Chưa điểm danh"
#: A session held before the trainee joined the class, with no mark for them: not counted.
NOT_YET_MEMBER, NOT_YET_MEMBER_CODE = "Chưa vào lớp", "–"
METHOD_LABELS = {
    CheckInMethod.ROLL_CALL: "Điểm danh tại lớp",
    CheckInMethod.SELF_QR: "Tự quét mã QR của lớp",
    CheckInMethod.SELF_CODE: "Tự nhập mã buổi học",
    CheckInMethod.CARD_SCAN: "Giảng viên quét thẻ học viên",
}

LONG_HEADER = (
    "Mã lớp", "Tên lớp", "Khoá học", "Ngày học", "Giờ học", "Địa điểm", "Chủ đề", "Họ và tên",
    "Số điện thoại", "Xã/phường", "Thôn/xóm", "Nghề/cơ sở", "Điểm danh", "Cách điểm danh", "Ghi nhận lúc",
)
LONG_FORMATS = (None, None, None, "date", None, None, None, None, None, None, None, None, None, None, "datetime")
ROSTER_LEAD = ("Mã lớp", "Họ và tên", "Số điện thoại", "Xã/phường", "Thôn/xóm", "Nghề/cơ sở")
ROSTER_TOTALS = ("Có mặt", "Đi muộn", "Vắng", "Chưa điểm danh", "Có phép", "Số buổi đã học", "Số buổi được tính",
                 "Tỷ lệ chuyên cần (%)")
SESSIONS_HEADER = (
    "Mã lớp", "Tên lớp", "Khoá học", "Buổi", "Ngày học", "Giờ học", "Địa điểm", "Chủ đề",
    "Học viên", "Có mặt", "Đi muộn", "Vắng", "Có phép", "Chưa điểm danh",
)
SESSIONS_FORMATS = (None, None, None, "integer", "date", None, None, None, *["integer"] * 6)
SHEET_LONG, SHEET_ROSTER, SHEET_SESSIONS, SHEET_NOTES = "Điểm danh", "Tổng hợp", "Buổi học", "Ghi chú"


class ExportError(ValueError):
    """The export cannot be made as asked; the message is safe to show."""


@dataclass(frozen=True)
class AttendanceFilter:
    """Which classes and sessions an export covers; build it with ``make_filter``."""

    cohort_id: int | None = None
    cohort_code: str | None = None
    course_id: int | None = None
    course_slug: str | None = None
    commune_code: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: Sessions starting after this moment have not been held yet and are left out.
    as_of: datetime = field(default_factory=utcnow)

    def cohort_conditions(self) -> list:
        conditions = []
        if self.cohort_id is not None:
            conditions.append(Cohort.id == self.cohort_id)
        if self.course_id is not None:
            conditions.append(Cohort.course_id == self.course_id)
        if self.commune_code is not None:
            conditions.append(Cohort.commune_code == self.commune_code)
        return conditions

    def session_conditions(self) -> list:
        conditions = held_conditions(self.as_of)
        if self.date_from is not None:
            conditions.append(ClassSession.starts_at >= start_of_local_day(self.date_from))
        if self.date_to is not None:
            conditions.append(ClassSession.starts_at < start_of_local_day(self.date_to + timedelta(days=1)))
        return conditions


def make_filter(*, cohort: Cohort | None = None, course_slug: str | None = None, commune_code: int | None = None,
                date_from: date | None = None, date_to: date | None = None,
                as_of: datetime | None = None) -> AttendanceFilter:
    """Check the export's filters and return them; raise ExportError for an unknown course or commune."""
    course_id = None
    if course_slug:
        course_id = db.session.scalar(sa.select(Course.id).where(Course.slug == course_slug))
        if course_id is None:
            raise ExportError(_("There is no course at the address %(slug)s.", slug=course_slug))
    if commune_code is not None and get_commune(commune_code) is None:
        raise ExportError(_("There is no commune with the code %(code)s.", code=commune_code))
    if date_from and date_to and date_to < date_from:
        raise ExportError(_("The end date cannot be before the start date."))
    return AttendanceFilter(
        cohort_id=cohort.id if cohort is not None else None, cohort_code=cohort.code if cohort is not None else None,
        course_id=course_id, course_slug=course_slug or None, commune_code=commune_code,
        date_from=date_from, date_to=date_to, as_of=as_of or utcnow(),
    )


def count_attendance_rows(f: AttendanceFilter) -> int:
    """Count the detail rows (trainees × held sessions) an export will hold, without reading them.

    Two grouped counts, sessions and active members per class, multiplied: no join of the two.
    """
    sessions = (
        sa.select(ClassSession.cohort_id.label("cohort_id"), sa.func.count(ClassSession.id).label("n"))
        .join(Cohort, Cohort.id == ClassSession.cohort_id)
        .where(*f.cohort_conditions(), *f.session_conditions())
        .group_by(ClassSession.cohort_id)
        .subquery()
    )
    members = (
        sa.select(CohortMember.cohort_id.label("cohort_id"), sa.func.count(CohortMember.id).label("n"))
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.status == MemberStatus.ACTIVE, *f.cohort_conditions())
        .group_by(CohortMember.cohort_id)
        .subquery()
    )
    total = db.session.scalar(
        sa.select(sa.func.sum(sessions.c.n * members.c.n))
        .select_from(sessions.join(members, members.c.cohort_id == sessions.c.cohort_id))
    )
    return int(total or 0)


# ---------------------------------------------------------------------------------------------
# Streaming one class at a time


@dataclass(frozen=True)
class _Session:
    id: int
    number: int
    starts_at: datetime
    day: date
    hours: str
    venue: str
    topic: str


@dataclass(frozen=True)
class _Trainee:
    user_id: int
    name: str
    phone: str
    commune: str
    village: str
    craft: str
    joined_at: datetime | None


@dataclass
class _Block:
    cohort_id: int
    code: str
    name: str
    course: str
    sessions: list[_Session]
    trainees: list[_Trainee]
    #: (user_id, session_id) -> (status, method, recorded_at); only this class's records.
    records: dict[tuple[int, int], tuple]

    def record(self, trainee: _Trainee, session: _Session):
        return self.records.get((trainee.user_id, session.id))

    def counts(self, trainee: _Trainee, session: _Session, record) -> bool:
        """Whether the session counts for the trainee (figures.counts_for_member)."""
        return counts_for_member(session.starts_at, record[0] if record is not None else None, trainee.joined_at)


class _Groups:
    """Rows ordered by cohort id, handed out one cohort at a time."""

    def __init__(self, rows):
        self._groups = itertools.groupby(rows, itemgetter(0))
        self._head = next(self._groups, None)

    def take(self, cohort_id: int) -> list:
        """Return this cohort's rows, skipping those of any cohort before it."""
        while self._head is not None and self._head[0] < cohort_id:
            self._head = next(self._groups, None)
        if self._head is None or self._head[0] != cohort_id:
            return []
        rows = list(self._head[1])
        self._head = next(self._groups, None)
        return rows


def _stream(stmt):
    """Run a query whose rows are read in batches (a server-side cursor where the database has one)."""
    # Core rows on the session's connection: the ORM's row handling would add a third to the export's time.
    return db.session.connection().execute(stmt, execution_options={"yield_per": _YIELD_PER})


def _cohort_blocks(f: AttendanceFilter) -> Iterator[_Block]:
    """Yield each class with held sessions in the export: its sessions, trainees (in name order) and records."""
    cohort_conditions, session_conditions = f.cohort_conditions(), f.session_conditions()
    # Each stream is ordered by cohort id: integers sort the same in every database, codes do not.
    sessions = _stream(
        sa.select(Cohort.id, Cohort.code, Cohort.name, Course.title, Cohort.venue, ClassSession.id,
                  ClassSession.starts_at, ClassSession.ends_at, ClassSession.venue, ClassSession.topic)
        .join(Course, Course.id == Cohort.course_id)
        .join(ClassSession, ClassSession.cohort_id == Cohort.id)
        .where(*cohort_conditions, *session_conditions)
        .order_by(Cohort.id, ClassSession.starts_at, ClassSession.id)
    )
    members = _stream(
        sa.select(CohortMember.cohort_id, User.id, User.full_name, User.phone, User.commune_code, User.village,
                  User.business_name, CohortMember.joined_at)
        .join(User, User.id == CohortMember.user_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.status == MemberStatus.ACTIVE, *cohort_conditions)
        .order_by(CohortMember.cohort_id)
    )
    records = _stream(
        sa.select(ClassSession.cohort_id, AttendanceRecord.user_id, AttendanceRecord.session_id,
                  AttendanceRecord.status, AttendanceRecord.method, AttendanceRecord.recorded_at)
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .join(Cohort, Cohort.id == ClassSession.cohort_id)
        .where(*cohort_conditions, *session_conditions)
        .order_by(ClassSession.cohort_id)
    )
    try:
        member_groups, record_groups = _Groups(members), _Groups(records)
        for cohort_id, rows in itertools.groupby(sessions, itemgetter(0)):
            rows = list(rows)
            _, code, name, course, cohort_venue = rows[0][:5]
            block_sessions = [_session(number, row, cohort_venue) for number, row in enumerate(rows, 1)]
            trainees = sorted((_trainee(row) for row in member_groups.take(cohort_id)), key=_trainee_order)
            if not trainees:
                continue
            block_records = {(row[1], row[2]): row[3:] for row in record_groups.take(cohort_id)}
            yield _Block(cohort_id, code, name, course, block_sessions, trainees, block_records)
    finally:
        for result in (sessions, members, records):
            result.close()


def _session(number: int, row, cohort_venue: str) -> _Session:
    starts, ends = row[6].astimezone(VIETNAM), row[7].astimezone(VIETNAM)
    return _Session(id=row[5], number=number, starts_at=row[6], day=starts.date(), hours=f"{starts:%H:%M}–{ends:%H:%M}", venue=row[8] or cohort_venue or "", topic=row[9] or "")


def _trainee(row) -> _Trainee:
    return _Trainee(user_id=row[1], name=row[2], phone=row[3], commune=commune_name(row[4]),
                    village=row[5] or "", craft=row[6] or "", joined_at=row[7])


@functools.lru_cache(maxsize=4096)
def commune_name(code: int | None) -> str:
    """Return a commune's official name, or "" (cached: an export asks once per row)."""
    commune = get_commune(code)
    return commune.name if commune else ""


# ---------------------------------------------------------------------------------------------
# Vietnamese name order


def _trainee_order(trainee: _Trainee) -> tuple:
    return name_order(trainee.name), trainee.user_id


# ---------------------------------------------------------------------------------------------
# Rows


def iter_long_rows(f: AttendanceFilter) -> Iterator[tuple]:
    """Yield one row per trainee and held session (LONG_HEADER), class by class, session by session."""
    for block in _cohort_blocks(f):
        for session in block.sessions:
            for trainee in block.trainees:
                record = block.record(trainee, session)
                if record is None:
                    status = NOT_MARKED if block.counts(trainee, session, None) else NOT_YET_MEMBER
                    method, recorded = None, None
                else:
                    status, method = STATUS_LABELS[record[0]], METHOD_LABELS[record[1]]
                    recorded = record[2].astimezone(VIETNAM).replace(tzinfo=None)
                yield (block.code, block.name, block.course, session.day, session.hours, session.venue, session.topic,
                       trainee.name, trainee.phone, trainee.commune, trainee.village, trainee.craft,
                       status, method, recorded)


def iter_roster_rows(f: AttendanceFilter, columns: int) -> Iterator[tuple]:
    """Yield one row per trainee and class: ROSTER_LEAD, a status code per session (padded to columns), ROSTER_TOTALS."""
    for block in _cohort_blocks(f):
        padding = (None,) * (columns - len(block.sessions))
        for trainee in block.trainees:
            records = [block.record(trainee, session) for session in block.sessions]
            counted = [block.counts(trainee, session, record) for session, record in zip(block.sessions, records,
                                                                                          strict=True)]
            codes = [STATUS_CODES[record[0]] if record is not None else None if counts else NOT_YET_MEMBER_CODE
                     for record, counts in zip(records, counted, strict=True)]
            figure = AttendanceFigure.from_statuses(sum(counted),
                                                    (record[0] for record in records if record is not None))
            yield (block.code, trainee.name, trainee.phone, trainee.commune, trainee.village, trainee.craft,
                   *codes, *padding,
                   figure.present, figure.late, figure.absent, figure.not_marked, figure.excused, figure.held,
                   figure.counted, figure.percent)


def iter_session_rows(f: AttendanceFilter) -> Iterator[tuple]:
    """Yield one row per held session with its counts (SESSIONS_HEADER), counted by the database.

    A trainee who joined after the session started and was not marked for it is not one of its trainees.
    """
    member = sa.or_(CohortMember.joined_at <= ClassSession.starts_at, AttendanceRecord.id.is_not(None))
    counted = [sa.func.sum(sa.case((AttendanceRecord.status == status, 1), else_=0)) for status in STATUS_CODES]
    result = _stream(
        sa.select(Cohort.id, Cohort.code, Cohort.name, Course.title, Cohort.venue, ClassSession.id,
                  ClassSession.starts_at, ClassSession.ends_at, ClassSession.venue, ClassSession.topic,
                  sa.func.sum(sa.case((member, 1), else_=0)), *counted)
        .join(Course, Course.id == Cohort.course_id)
        .join(ClassSession, ClassSession.cohort_id == Cohort.id)
        .join(CohortMember, sa.and_(CohortMember.cohort_id == Cohort.id, CohortMember.status == MemberStatus.ACTIVE))
        .outerjoin(AttendanceRecord, sa.and_(AttendanceRecord.session_id == ClassSession.id,
                                             AttendanceRecord.user_id == CohortMember.user_id))
        .where(*f.cohort_conditions(), *f.session_conditions())
        .group_by(ClassSession.id, Cohort.id, Course.id)
        .order_by(Cohort.id, ClassSession.starts_at, ClassSession.id)
    )
    try:
        for _, rows in itertools.groupby(result, itemgetter(0)):
            for number, row in enumerate(rows, 1):
                session = _session(number, row, row[4])
                trainees, *counts = row[10:]
                yield (row[1], row[2], row[3], number, session.day, session.hours, session.venue, session.topic,
                       trainees, *counts, trainees - sum(counts))
    finally:
        result.close()


def _roster_layout(f: AttendanceFilter) -> tuple[list[str], int]:
    """Return the roster's session headers and their number.

    One class: each column is headed by its session's date and start time (28/11 07:30). Several
    classes: their sessions differ, so columns are numbered (Buổi 1, Buổi 2, …) and the "Buổi học"
    sheet gives each class's dates.
    """
    counts = db.session.execute(
        sa.select(ClassSession.cohort_id, sa.func.count(ClassSession.id))
        .join(Cohort, Cohort.id == ClassSession.cohort_id)
        .where(*f.cohort_conditions(), *f.session_conditions(), Cohort.id.in_(
            sa.select(CohortMember.cohort_id).where(CohortMember.status == MemberStatus.ACTIVE)))
        .group_by(ClassSession.cohort_id)
    ).all()
    if len(counts) == 1:
        starts = db.session.scalars(
            sa.select(ClassSession.starts_at).where(ClassSession.cohort_id == counts[0][0], *f.session_conditions())
            .order_by(ClassSession.starts_at, ClassSession.id)
        ).all()
        return [f"{s.astimezone(VIETNAM):%d/%m %H:%M}" for s in starts], len(starts)
    columns = max((n for _, n in counts), default=0)
    return [f"Buổi {n}" for n in range(1, columns + 1)], columns


def _notes_rows(f: AttendanceFilter) -> Iterator[tuple]:
    generated = f.as_of.astimezone(VIETNAM)
    yield "Xuất lúc", f"{generated:%d/%m/%Y %H:%M} (giờ Việt Nam)"
    yield "Lớp", f.cohort_code or "Tất cả"
    yield "Khoá học", f.course_slug or "Tất cả"
    yield "Xã/phường nơi mở lớp", commune_name(f.commune_code) if f.commune_code else "Tất cả"
    yield "Từ ngày", f"{f.date_from:%d/%m/%Y}" if f.date_from else "—"
    yield "Đến ngày", f"{f.date_to:%d/%m/%Y}" if f.date_to else "—"
    yield "Buổi học được tính", ("Các buổi không bị huỷ, đã bắt đầu trước lúc xuất, trong khoảng ngày đã chọn "
                                 "(theo giờ Việt Nam). Buổi đã huỷ và buổi chưa diễn ra không có trong các trang "
                                 "và không được tính.")
    yield "Học viên", "Học viên đang học trong lớp lúc xuất; học viên đã rút khỏi lớp không có trong báo cáo."
    yield "Ký hiệu", ("C = có mặt, M = đi muộn, V = vắng, P = vắng có phép, để trống = chưa điểm danh, "
                      f"{NOT_YET_MEMBER_CODE} = chưa vào lớp (buổi học trước ngày học viên vào lớp, không được tính).")
    with force_locale("vi"):
        rule = str(RULE)  # the sentence every screen shows, in the report's language
    yield "Tỷ lệ chuyên cần", (f"{rule} Tỷ lệ = (Có mặt + Đi muộn) ÷ Số buổi được tính × 100, "
                               "trong đó Số buổi được tính = Số buổi đã học − Có phép; Số buổi đã học của mỗi học viên tính từ "
                               "lúc vào lớp (cộng các buổi trước đó mà học viên đã được điểm danh); "
                               "làm tròn một chữ số thập phân.")


def export_attendance_xlsx(fileobj: IO[bytes] | str, *, cohort: Cohort | None = None, course_slug: str | None = None,
                           commune_code: int | None = None, date_from: date | None = None,
                           date_to: date | None = None, as_of: datetime | None = None) -> dict[str, int]:
    """Write the attendance workbook (long sheet, roster, sessions, notes); return the rows per sheet.

    :param fileobj: a path or a seekable binary file (xlsxwriter needs to seek).
    :param as_of: the moment of export (default now); sessions starting later are left out.
    """
    f = make_filter(cohort=cohort, course_slug=course_slug, commune_code=commune_code,
                    date_from=date_from, date_to=date_to, as_of=as_of)
    return write_attendance_xlsx(fileobj, f)


def write_attendance_xlsx(fileobj: IO[bytes] | str, f: AttendanceFilter,
                          on_progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the attendance workbook for filters already checked by make_filter.

    :param on_progress: called with the detail rows written so far, every PROGRESS_EVERY rows and at the end.
    """
    session_headers, columns = _roster_layout(f)
    roster_header = (*ROSTER_LEAD, *session_headers, *ROSTER_TOTALS)
    roster_formats = (*[None] * len(ROSTER_LEAD), *["code"] * columns, *["integer"] * (len(ROSTER_TOTALS) - 1),
                      "decimal1")
    return write_xlsx([
        (SHEET_LONG, LONG_HEADER, _reporting(iter_long_rows(f), on_progress), LONG_FORMATS),
        (SHEET_ROSTER, roster_header, iter_roster_rows(f, columns), roster_formats),
        (SHEET_SESSIONS, SESSIONS_HEADER, iter_session_rows(f), SESSIONS_FORMATS),
        (SHEET_NOTES, ("Mục", "Nội dung"), _notes_rows(f), None),
    ], fileobj)


def iter_attendance_csv(f: AttendanceFilter, on_progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Yield the long sheet as CSV chunks (UTF-8 with BOM), for a streamed download (on_progress as above)."""
    return iter_csv(_reporting(iter_long_rows(f), on_progress), LONG_HEADER)


def iter_roster_csv(f: AttendanceFilter) -> Iterator[bytes]:
    """Yield the roster (one row per trainee: codes per session, totals and % attended) as CSV chunks."""
    session_headers, columns = _roster_layout(f)
    return iter_csv(iter_roster_rows(f, columns), (*ROSTER_LEAD, *session_headers, *ROSTER_TOTALS))


def _reporting(rows: Iterable[tuple], on_progress: Callable[[int], None] | None) -> Iterable[tuple]:
    """Pass rows through, telling on_progress how many have gone after every PROGRESS_EVERY and at the end."""
    if on_progress is None:
        return rows
    return _counted(iter(rows), on_progress)


def _counted(rows: Iterator[tuple], on_progress: Callable[[int], None]) -> Iterator[tuple]:
    written = 0
    # In chunks: counting row by row would slow every export down.
    while chunk := list(itertools.islice(rows, PROGRESS_EVERY)):
        yield from chunk
        written += len(chunk)
        on_progress(written)
    if not written:
        on_progress(0)


def export_attendance_csv(fileobj: IO, *, cohort: Cohort | None = None, course_slug: str | None = None,
                          commune_code: int | None = None, date_from: date | None = None,
                          date_to: date | None = None, as_of: datetime | None = None) -> int:
    """Write the long sheet as CSV (UTF-8 with BOM, ISO dates); return the row count."""
    f = make_filter(cohort=cohort, course_slug=course_slug, commune_code=commune_code,
                    date_from=date_from, date_to=date_to, as_of=as_of)
    return write_csv(iter_long_rows(f), LONG_HEADER, fileobj)


def export_filename(extension: str, *, cohort: Cohort | None = None, course_slug: str | None = None,
                    commune_code: int | None = None, today: date | None = None) -> str:
    """Return an ASCII file name such as diem-danh-PX-VBBH-01-2026-11-28.xlsx (today in Vietnam)."""
    parts = ["diem-danh"]
    if cohort is not None:
        parts.append(cohort.code)
    if course_slug:
        parts.append(course_slug)
    if commune_code is not None:
        parts.append("-".join(fold_diacritics(commune_name(commune_code)).split()) or str(commune_code))
    if len(parts) == 1:
        parts.append("tat-ca")
    parts.append((today or local_today()).isoformat())
    name = "-".join(parts)
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in name) + "." + extension


# ---------------------------------------------------------------------------------------------
# Sign-in sheet


def sign_in_sheet_data(session: ClassSession, *, full_phone: bool = False) -> tuple[dict, list[dict]]:
    """Return what render_sign_in_sheet prints for a session: its details and the class's trainees in name order.

    Phones are masked (0912***678) unless full_phone: the sheet passes from hand to hand, and the
    masked number still tells two trainees of the same name apart.
    """
    cohort = session.cohort
    info = {
        "class_code": cohort.code,
        "class_name": cohort.name,
        "course": cohort.course.title,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "venue": session.venue or cohort.venue or "",
        "topic": session.topic or "",
        "instructors": [u.full_name for u in cohort.instructors],
        "cancelled": session.is_cancelled,
        # Who issues the sheet, for its national header (LMS_ISSUING_BODY…).
        "issuing_body": current_app.config.get("ISSUING_BODY", ""),
        "issuing_body_parent": current_app.config.get("ISSUING_BODY_PARENT", ""),
        "place": current_app.config.get("REPORT_PLACE", ""),
    }
    users = db.session.execute(
        sa.select(User.id, User.full_name, User.phone, User.village)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id == cohort.id, CohortMember.status == MemberStatus.ACTIVE)
    ).all()
    users.sort(key=lambda u: (name_order(u.full_name), u.id))
    trainees = [{"full_name": u.full_name, "phone": u.phone if full_phone else mask_phone(u.phone),
                 "village": u.village or ""} for u in users]
    return info, trainees


