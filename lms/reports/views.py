"""The programme dashboard and the list of trainees behind each of its numbers."""

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request

from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.params import int_arg, paginate
from lms.core.places import get_commune
from lms.courses.models import Course
from lms.learning.models import Enrollment
from lms.reports import figures
from lms.reports.access import check_commune_in_scope, current_scope, programme_staff_required
from lms.reports.figures import FUNNEL, Figure
from lms.reports.forms import PeriodForm

bp = Blueprint("reports", __name__)

PAGE_SIZE = 50


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


@bp.get("/reports/trainees/<figure>")
@programme_staff_required
def trainees(figure: str):
    """List the enrolments behind one number of the dashboard: as many rows as the number says."""
    try:
        chosen = Figure(figure)
    except ValueError:
        abort(404)
    form = _form()
    period = form.period()
    course_id = int_arg("course", None, min=1)
    course = db.session.get(Course, course_id) if course_id else None
    if course_id and course is None:
        abort(404)
    commune_code = int_arg("commune", None, min=0)
    if commune_code and get_commune(commune_code) is None:
        abort(404)
    scope = current_scope()
    check_commune_in_scope(scope, commune_code)
    page = paginate(figures.enrolments(chosen, period, course_id=course_id, commune_code=commune_code,
                                       scope=scope).options(
        sa.orm.selectinload(Enrollment.user), sa.orm.selectinload(Enrollment.course)), per_page=PAGE_SIZE, count=True)
    kept = form.kept() | ({"course": str(course_id)} if course_id else {}) | (
        {"commune": str(commune_code)} if commune_code is not None else {})
    return render_template("reports/trainees.html", figure=chosen, period=period, page=page, course=course,
                           commune=_commune_name(commune_code) if commune_code is not None else None,
                           kept=kept, period_kept=form.kept(), scope=scope)


from lms.reports import report_views  # noqa: E402,F401 - the report downloads, on this blueprint
