"""The programme dashboard and the list of trainees behind each of its numbers."""

import io
from dataclasses import dataclass, replace
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, stream_with_context, url_for
from flask_login import current_user

from lms.accounts.models import Role, User
from lms.accounts.services import matching_people
from lms.attendance.figures import RULE
from lms.audit.models import AuditAction, AuditObject
from lms.audit.services import record_event
from lms.cohorts.models import Cohort, CohortMember, MemberStatus
from lms.core.db import writes_database
from lms.core.extensions import db
from lms.core.i18n import gettext as _
from lms.core.params import int_arg, paginate
from lms.core.places import communes_of, get_commune, provinces
from lms.core.responses import NO_STORE, XLSX_MIMETYPE
from lms.core.text import mask_phone, normalize_text
from lms.core.timezone import to_local
from lms.courses.models import Course
from lms.learning.models import Enrollment
from lms.learning.services import sync_statuses_of
from lms.reports import figures, snapshots
from lms.reports.access import check_commune_in_scope, current_scope, programme_staff_required
from lms.reports.figures import FUNNEL, NO_COMMUNE, Figure
from lms.reports.forms import PeriodForm, default_period, format_moment
from lms.reports.tables import CHART_ROWS, COLUMNS, NAME, Row, Sort, week_label

bp = Blueprint("reports", __name__)

PAGE_SIZE = 50
#: A search box's query is cut to this many characters (a name and a phone fit).
MAX_QUERY = 80


def _form() -> PeriodForm:
    form = PeriodForm(formdata=request.args)
    form.validate()
    return form


#: Rows of the class and craft tables on one page: a province has thousands of classes, and business names are
#: many, most with a trainee or two. The other tables (courses, places) are short by nature.
TABLE_ROWS = 20


@dataclass(frozen=True)
class TablePage:
    """Which rows of a long table the page shows: its query argument, the page number, how many pages and rows."""

    arg: str
    number: int
    pages: int
    total: int

    @property
    def first(self) -> int:
        return (self.number - 1) * TABLE_ROWS + 1

    @property
    def last(self) -> int:
        return min(self.number * TABLE_ROWS, self.total)


def _table_page(rows: list, arg: str) -> tuple[list, TablePage]:
    """Return the rows of the page the query argument asks for (the last if past it), and where that is."""
    pages = max(1, -(-len(rows) // TABLE_ROWS))
    number = min(int_arg(arg, 1, min=1), pages)
    return rows[(number - 1) * TABLE_ROWS:number * TABLE_ROWS], TablePage(arg, number, pages, len(rows))


@bp.get("/reports")
@programme_staff_required
def dashboard():
    """Show the programme's funnel, attendance, weeks and breakdowns for a period, every number a link to its list."""
    form = _form()
    scope = current_scope()
    # Counted as of one moment (the worker's or now), which the links to the lists carry: a list read
    # later counts the same enrolments as the number it came from.
    counted = snapshots.figures_for(replace(form.period(), as_of=None), scope, default=default_period())
    if isinstance(counted, snapshots.Counting):
        return render_template("reports/counting.html", form=form, period=form.period(), scope=scope,
                               places=_place_names(scope), counting=counted,
                               minutes=max(1, -(-int(counted.seconds) // 60))), 202
    period = counted.period
    province_code, commune_code = _drill(scope)
    sort = Sort.from_args(request.args)
    kept = {k: v for k, v in form.kept().items() if k != "as_of"}
    # The page's own address without its sort, to build the headers' links and the drill-down links from.
    here = kept | ({"province": str(province_code)} if province_code else {}) | (
        {"commune": str(commune_code)} if commune_code else {}) | sort.args()

    shown = list(Figure)
    table = counted.by_course(shown)
    # Each enrolment is in exactly one course: the programme's totals are the rows' sums.
    totals = {figure: sum(counts[figure] for counts in table.values()) for figure in shown}
    courses = {c.id: c for c in db.session.scalars(sa.select(Course).where(Course.id.in_(list(table))))}
    by_course_attendance = counted.attendance("course")
    course_rows = [Row(courses[cid].title, {"course": cid}, counts, by_course_attendance.get(cid))
                   for cid, counts in table.items() if cid in courses and counts[Figure.ENROLLED]]

    class_counts = counted.by_class(FUNNEL)
    # A province has thousands of classes: their codes and names only, not whole rows; in code order.
    named = sa.select(Cohort.id, Cohort.code, Cohort.name)
    if len(class_counts) <= 500:
        named = named.where(Cohort.id.in_(list(class_counts)))
    cohorts = {cid: (code, name) for cid, code, name in db.session.execute(named)}
    by_class_attendance = counted.attendance("class")
    class_rows = [Row(f"{cohorts[cid][0]} · {cohorts[cid][1]}", {"cohort": cid}, counts,
                      by_class_attendance.get(cid), order=cohorts[cid][0].casefold())
                  for cid, counts in class_counts.items() if cid in cohorts and counts[Figure.ENROLLED]]

    places = _place_rows(counted, province_code, commune_code, here)
    craft_rows = _craft_rows(counted)
    weeks = counted.weekly()
    week_rows = [Row(week_label(w.monday, w.first, w.last), {"week": w.monday.isoformat()},
                     {Figure.CERTIFIED_IN_PERIOD: w.certified}, order=w.monday) for w in weeks if w.certified]
    # Business names are many, most with a trainee or two: unless the reader chose an order, the largest first.
    craft_sort = Sort.from_args(request.args, default=Sort(Figure.ENROLLED.value, descending=True))
    craft_rows, craft_page = _table_page(craft_sort.apply(craft_rows, COLUMNS), "craft_page")
    class_rows, class_page = _table_page(sort.apply(class_rows, COLUMNS), "class_page")
    return render_template(
        "reports/dashboard.html", form=form, period=period, totals=totals, funnel=FUNNEL, counted=counted,
        refresh_minutes=snapshots.REFRESH_MINUTES,
        extra=(Figure.ACTIVE, Figure.STUCK, Figure.CERTIFIED_IN_PERIOD), figures=list(Figure),
        kept=kept | {"as_of": format_moment(period.as_of)}, here=here,
        scope=scope, places=_place_names(scope), sort=sort, columns=COLUMNS, chart_rows=CHART_ROWS,
        attendance=counted.attendance(), rule=RULE,
        attendance_definition=figures.ATTENDANCE_DEFINITION,
        course_rows=sort.apply(course_rows, COLUMNS), class_rows=class_rows, class_page=class_page,
        place=places | {"rows": sort.apply(places["rows"], COLUMNS)},
        craft_rows=craft_rows, craft_page=craft_page, craft_sort=craft_sort,
        weeks=weeks, week_rows=sort.apply(week_rows, (NAME, Figure.CERTIFIED_IN_PERIOD.value)),
        weekly_definitions=figures.WEEKLY_DEFINITIONS, week_label=week_label)


def _drill(scope) -> tuple[int | None, int | None]:
    """Read the place the reader drilled down to: ?province= (its communes) or ?commune= (its villages).

    A place that does not exist or that the reader's scope does not reach answers 404.
    """
    commune_code = int_arg("commune", None, min=1)
    if commune_code is not None:
        commune = get_commune(commune_code)
        if commune is None:
            abort(404)
        check_commune_in_scope(scope, commune_code)
        return commune.province_code, commune_code
    province_code = int_arg("province", None, min=1)
    if province_code is not None:
        _check_province(scope, province_code)
    return province_code, None


def _check_province(scope, province_code: int) -> None:
    """Answer 404 for a province that does not exist or holds none of the scope's communes."""
    communes = communes_of(province_code)
    if not communes or not any(scope.allows(c.code) for c in communes):
        abort(404)


def _place_rows(counted, province_code, commune_code, here) -> dict:
    """Return the rows of the breakdown by place at the level drilled to: provinces, a province's communes, villages."""
    base = {k: v for k, v in here.items() if k not in ("province", "commune", "crafts")}
    province_names = dict(provinces())
    if commune_code is not None:
        counts = counted.by_village(FUNNEL, commune_code)
        rates = counted.attendance("village", commune_code=commune_code)
        rows = [Row(village or _("No village recorded"), {"commune": commune_code, "village": village}, n,
                    rates.get(village), unnamed=not village) for village, n in counts.items() if n[Figure.ENROLLED]]
        return {"level": "village", "rows": rows, "name": _commune_name(commune_code),
                "up": url_for("reports.dashboard", **base, province=province_code, _anchor="by-place"),
                "up_name": province_names.get(province_code, "")}
    communes = counted.by_commune(FUNNEL)
    rates = counted.attendance("commune")
    if province_code is not None:
        rows = [Row(_commune_name(code), {"commune": code}, n, rates.get(code),
                    drill=url_for("reports.dashboard", **base, commune=code, _anchor="by-place"))
                for code, n in communes.items()
                if n[Figure.ENROLLED] and code != NO_COMMUNE and get_commune(code).province_code == province_code]
        return {"level": "commune", "rows": rows, "name": province_names.get(province_code, ""),
                "up": url_for("reports.dashboard", **base, _anchor="by-place"), "up_name": None}
    from lms.attendance.figures import total

    province_rates: dict[int, list] = {}
    for code, rate in rates.items():
        commune = get_commune(code) if code != NO_COMMUNE else None
        province_rates.setdefault(commune.province_code if commune else NO_COMMUNE, []).append(rate)
    rows = []
    for code, n in figures.by_province(communes).items():
        if not n[Figure.ENROLLED]:
            continue
        rate = total(province_rates.get(code, []))
        if code == NO_COMMUNE:
            rows.append(Row(_("No commune recorded"), {"commune": NO_COMMUNE}, n, rate, unnamed=True))
        else:
            rows.append(Row(province_names.get(code, str(code)), {"province": code}, n, rate,
                            drill=url_for("reports.dashboard", **base, province=code, _anchor="by-place")))
    return {"level": "province", "rows": rows, "name": None, "up": None, "up_name": None}


def _craft_rows(counted) -> list[Row]:
    counts = counted.by_craft(FUNNEL)
    rates = counted.attendance("craft")
    return [Row(craft or _("No craft recorded"), {"craft": craft}, n, rates.get(craft), unnamed=not craft)
            for craft, n in counts.items() if n[Figure.ENROLLED]]


def _place_names(scope) -> list[str]:
    """Return the names of the scope's communes, for the page's heading (none for the whole programme)."""
    if scope.whole:
        return []
    return sorted(_commune_name(code) for code in scope.communes)


@dataclass(frozen=True)
class ClassFigure:
    figure: Figure
    count: int
    url: str | None


@bp.app_template_global("class_progress")
def class_progress(cohort) -> tuple[figures.Period, list[ClassFigure]]:
    """Return the class's programme figures from its start to today, each linked to its list for those who may open it.

    The same figures.count the dashboard's by-class row calls, so the class page, the row and the
    list behind either are one number.
    """
    from lms.core.timezone import local_today, to_local

    today = local_today()
    first = min(cohort.start_date or to_local(cohort.created_at).date(), to_local(cohort.created_at).date(), today)
    period = figures.Period(first, today)
    scope = current_scope()
    linked = current_user.has_role(Role.ORGANIZER, Role.ADMIN, Role.OFFICIAL)
    counted = figures.counts((*FUNNEL, Figure.ACTIVE, Figure.STUCK), period,
                             scope=scope if linked else figures.WHOLE, cohort_id=cohort.id)
    return period, [ClassFigure(figure, n, url_for("reports.trainees", figure=figure.value, cohort=cohort.id,
                                                   date_from=first.isoformat(), date_to=today.isoformat())
                                if linked else None) for figure, n in counted.items()]


def _commune_name(code: int) -> str:
    commune = get_commune(code) if code != figures.NO_COMMUNE else None
    return commune.name if commune else _("No commune recorded")


#: Longest village or craft a list link may ask for (the columns' lengths).
_TEXT_ARGS = {"village": 120, "craft": 160}


@dataclass(frozen=True)
class _ListAsked:
    """What a list behind a number was asked for: the figure, the period, the filters, the reader's scope, a search."""

    figure: Figure
    form: PeriodForm
    period: figures.Period
    scope: figures.Scope
    filters: dict
    kept_filters: dict
    heading: dict
    query: str
    #: The enrolments a count kept in a moving figure at the period's moment (snapshots.members_at), or None.
    members: sa.Select | None = None

    def enrolments(self, *, searched: bool = True) -> sa.Select:
        """Return the list's enrolments, those matching the search box unless searched=False."""
        select = figures.enrolments(self.figure, self.period, scope=self.scope, members=self.members, **self.filters)
        matching = matching_people(self.query) if searched else None
        return select if matching is None else select.where(matching)

    def kept(self, *, with_query: bool = True) -> dict[str, str]:
        """Return the query-string values that ask for this list again (the next page, the export)."""
        return self.form.kept() | self.kept_filters | ({"q": self.query} if with_query and self.query else {})


def _list_asked(figure: str) -> _ListAsked:
    """Read a list's figure and query string; 404 for what does not exist or lies outside the reader's scope."""
    try:
        chosen = Figure(figure)
    except ValueError:
        abort(404)
    form = _form()
    period = form.period()
    scope = current_scope()
    filters, kept, heading = _list_filters(chosen, period, scope)
    query = normalize_text(request.args.get("q", ""))[:MAX_QUERY]
    return _ListAsked(chosen, form, period, scope, filters, kept, heading, query, snapshots.members_at(chosen, period))


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
                           course=asked.heading.get("course"), heading=asked.heading, total=total, query=asked.query,
                           kept=asked.kept(), export_kept=asked.kept(), search_kept=asked.kept(with_query=False),
                           period_kept=asked.form.kept(), scope=asked.scope,
                           kept_by_the_count=asked.members is not None,
                           sync=sync_statuses_of(e.user_id for e in page.items))


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


def _class_in_scope(scope, cohort_id: int) -> bool:
    """Whether the class has a trainee the reader may see (a class of other communes is as unknown as none)."""
    if scope.whole:
        return True
    return db.session.scalar(sa.select(sa.exists().where(
        CohortMember.cohort_id == cohort_id, CohortMember.status == MemberStatus.ACTIVE,
        CohortMember.user_id == User.id, scope.condition())))


def _list_filters(chosen: Figure, period, scope) -> tuple[dict, dict, dict]:
    """Read the list's filters from the query string; return them, the arguments to keep, and their names.

    Anything that does not exist, or that the reader's scope does not reach, answers 404.
    """
    filters, kept, heading = {}, {}, {}
    course_id = int_arg("course", None, min=1)
    if course_id:
        course = db.session.get(Course, course_id)
        if course is None:
            abort(404)
        filters["course_id"], heading["course"] = course_id, course
    cohort_id = int_arg("cohort", None, min=1)
    if cohort_id:
        cohort = db.session.get(Cohort, cohort_id)
        if cohort is None or not _class_in_scope(scope, cohort_id):
            abort(404)
        filters["cohort_id"], heading["cohort"] = cohort_id, f"{cohort.code} · {cohort.name}"
    province_code = int_arg("province", None, min=1)
    if province_code:
        _check_province(scope, province_code)
        filters["province_code"], heading["province"] = province_code, dict(provinces())[province_code]
    commune_code = int_arg("commune", None, min=0)
    if commune_code and get_commune(commune_code) is None:
        abort(404)
    check_commune_in_scope(scope, commune_code)
    if commune_code is not None:
        filters["commune_code"], heading["commune"] = commune_code, _commune_name(commune_code)
    for name, longest in _TEXT_ARGS.items():
        if name in request.args:
            value = request.args[name]
            if len(value) > longest or value != value.strip():
                abort(404)
            filters[name] = value
            heading[name] = value or (_("No village recorded") if name == "village" else _("No craft recorded"))
    if request.args.get("week"):
        try:
            monday = date.fromisoformat(request.args["week"])
        except ValueError:
            abort(404)
        if chosen is not Figure.CERTIFIED_IN_PERIOD or monday not in figures.mondays(period):
            abort(404)
        filters["week"] = monday
        heading["week"] = week_label(monday, max(monday, period.first), min(monday + timedelta(days=6),
                                                                              period.last))
    for key, value in filters.items():
        name = {"course_id": "course", "cohort_id": "cohort", "province_code": "province",
                "commune_code": "commune"}.get(key, key)
        kept[name] = value.isoformat() if isinstance(value, date) else str(value)
    return filters, kept, heading


from lms.reports import report_views  # noqa: E402,F401 - the report downloads, on this blueprint
