"""The programme dashboard and the list of trainees behind each of its numbers."""

import io
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from lms.accounts.services import matching_people
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.core.db import writes_database
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.params import int_arg, paginate
from lms.core.places import get_commune
from lms.core.responses import NO_STORE, XLSX_MIMETYPE
from lms.core.text import mask_phone, normalize_text
from lms.core.timezone import to_local
from lms.courses.models import Course
from lms.learning.models import Enrollment
from lms.reports import figures
from lms.reports.access import check_commune_in_scope, current_scope, programme_staff_required
from lms.reports.figures import FUNNEL, Figure
from lms.reports.forms import PeriodForm

bp = Blueprint("reports", __name__)

PAGE_SIZE = 50
#: A search box's query is cut to this many characters (a name and a phone fit).
MAX_QUERY = 80


def _form() -> PeriodForm:
    form = PeriodForm(formdata=request.args)
    form.validate()
    return form


@bp.get("/reports")
@programme_staff_required
def dashboard():
    """Show the programme's funnel for a period, and each course's figures, every number a link to its list."""
    form = _form()
    period = form.period()
    scope = current_scope()
    shown = list(Figure)
    table = figures.by_course(shown, period, scope=scope)
    # Each enrolment is in exactly one course: the programme's totals are the rows' sums.
    totals = {figure: sum(counts[figure] for counts in table.values()) for figure in shown}
    courses = {c.id: c for c in db.session.scalars(sa.select(Course).where(Course.id.in_(list(table))))}
    rows = sorted(((courses[cid], counts) for cid, counts in table.items() if cid in courses and counts[Figure.ENROLLED]),
                  key=lambda row: row[0].title)
    communes = sorted(((code, _commune_name(code), counts)
                       for code, counts in figures.by_commune(FUNNEL, period, scope=scope).items() if counts[Figure.ENROLLED]),
                      key=lambda row: (row[0] == figures.NO_COMMUNE, row[1]))
    return render_template("reports/dashboard.html", form=form, period=period, totals=totals, funnel=FUNNEL,
                           extra=(Figure.ACTIVE, Figure.STUCK), figures=list(Figure), rows=rows, communes=communes,
                           kept=form.kept(), scope=scope, places=_place_names(scope))


def _place_names(scope) -> list[str]:
    """Return the names of the scope's communes, for the page's heading (none for the whole programme)."""
    if scope.whole:
        return []
    return sorted(_commune_name(code) for code in scope.communes)


def _commune_name(code: int) -> str:
    commune = get_commune(code) if code != figures.NO_COMMUNE else None
    return commune.name if commune else _("No commune recorded")


@dataclass(frozen=True)
class _ListAsked:
    """What a list behind a number was asked for: the figure, the period, the narrowing, the reader's scope."""

    figure: Figure
    form: PeriodForm
    period: figures.Period
    course: Course | None
    commune_code: int | None
    scope: figures.Scope
    query: str

    def enrolments(self, *, searched: bool = True) -> sa.Select:
        """Return the list's enrolments, those matching the search box unless searched=False."""
        select = figures.enrolments(self.figure, self.period, course_id=self.course.id if self.course else None,
                                    commune_code=self.commune_code, scope=self.scope)
        matching = matching_people(self.query) if searched else None
        return select if matching is None else select.where(Enrollment.user.has(matching))

    def kept(self, *, with_query: bool = True) -> dict[str, str]:
        """Return the query-string values that ask for this list again (the next page, the export)."""
        return self.form.kept() | ({"course": str(self.course.id)} if self.course else {}) | (
            {"commune": str(self.commune_code)} if self.commune_code is not None else {}) | (
            {"q": self.query} if with_query and self.query else {})


def _list_asked(figure: str) -> _ListAsked:
    """Read a list's figure and query string; 404 for what does not exist or lies outside the reader's scope."""
    try:
        chosen = Figure(figure)
    except ValueError:
        abort(404)
    form = _form()
    course_id = int_arg("course", None, min=1)
    course = db.session.get(Course, course_id) if course_id else None
    if course_id and course is None:
        abort(404)
    commune_code = int_arg("commune", None, min=0)
    if commune_code and get_commune(commune_code) is None:
        abort(404)
    scope = current_scope()
    check_commune_in_scope(scope, commune_code)
    query = normalize_text(request.args.get("q", ""))[:MAX_QUERY]
    return _ListAsked(chosen, form, form.period(), course, commune_code, scope, query)


@bp.get("/reports/trainees/<figure>")
@programme_staff_required
def trainees(figure: str):
    """List the enrolments behind one number of the dashboard: as many rows as the number says."""
    asked = _list_asked(figure)
    page = paginate(asked.enrolments().options(sa.orm.selectinload(Enrollment.user),
                                                sa.orm.selectinload(Enrollment.course)), per_page=PAGE_SIZE, count=True)
    total = page.total if not asked.query else db.session.scalar(
        sa.select(sa.func.count()).select_from(asked.enrolments(searched=False).order_by(None).subquery()))
    return render_template("reports/trainees.html", figure=asked.figure, period=asked.period, page=page,
                           course=asked.course, total=total, query=asked.query,
                           commune=_commune_name(asked.commune_code) if asked.commune_code is not None else None,
                           kept=asked.kept(), export_kept=asked.kept(), search_kept=asked.kept(with_query=False),
                           period_kept=asked.form.kept(), scope=asked.scope)


@bp.get("/reports/trainees/<figure>.<any(xlsx, csv):fmt>")
@writes_database
@programme_staff_required
def trainees_export(figure: str, fmt: str):
    """Download the list behind a number (the search applied), formula-safe; the download is audited."""
    from lms.core.spreadsheets.write import iter_csv, write_xlsx

    asked = _list_asked(figure)
    record_event(AuditAction.EXPORTED_LIST, current_user, object_kind=AuditObject.PROGRAMME_LIST,
                 object_ref=f"{asked.figure.value}:{fmt}"[:200], client_address=request.remote_addr)
    db.session.commit()
    header = [_("Full name"), _("Phone number"), _("Commune / ward"), _("Village / hamlet"),
              _("Craft or business name"), _("Course"), _("Enrolled on"), _("Completed on")]
    rows = _export_rows(asked)
    filename = f"danh-sach-{asked.figure.value}-{asked.period.first:%Y%m%d}-{asked.period.last:%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = Response(stream_with_context(iter_csv(rows, header)), mimetype="text/csv")
    else:
        buffer = io.BytesIO()
        write_xlsx([(figure_sheet_name(asked.figure), header, rows, [None] * 6 + ["date", "date"])], buffer)
        response = Response(buffer.getvalue(), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = NO_STORE
    return response


def figure_sheet_name(figure: Figure) -> str:
    """Return the figure's label cut to a sheet title's 31 characters."""
    return figure.label[:31]


def _export_rows(asked: _ListAsked):
    """Yield the list's rows, a thousand enrolments read at a time; an official's phones are masked."""
    select = asked.enrolments().options(sa.orm.joinedload(Enrollment.user), sa.orm.joinedload(Enrollment.course))
    for enrolment in db.session.scalars(select.execution_options(yield_per=1000)):
        user, commune = enrolment.user, get_commune(enrolment.user.commune_code)
        yield (user.full_name, user.phone if asked.scope.whole else mask_phone(user.phone),
               commune.name if commune else "", user.village or "", user.business_name or "", enrolment.course.title,
               to_local(enrolment.enrolled_at).date(),
               to_local(enrolment.completed_at).date() if enrolment.completed_at else None)


from lms.reports import report_views  # noqa: E402,F401 - the report downloads, on this blueprint
