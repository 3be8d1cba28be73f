"""The worker's count of the figures: the same numbers as live, for every scope, and lists as long as they are later."""

import re
from datetime import timedelta

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.core.db import utcnow
from lms.core.extensions import db
from lms.core.timezone import local_today
from lms.reports.figures import FUNNEL, NO_COMMUNE, Figure, Period, Scope
from lms.reports.forms import default_period
from lms.reports.models import FigureRow, FigureSnapshot
from lms.reports.snapshots import LiveFigures, SnapshotFigures, figures_for, take_snapshot
from tests.factories import make_course, make_organizer, make_trainee, make_user
from tests.reports.test_attendance import _classes
from tests.reports.test_breakdowns import (
    CHUYEN_MY,
    PHU_XUYEN_HN,
    PHU_XUYEN_TN,
    _links_match_their_lists,
    _places_and_classes,
)


def _both_programmes() -> Period:
    """The breakdowns' edge cases and the attendance's classes in one programme; return a period holding both."""
    _places_and_classes()
    _classes()
    today = local_today()
    return Period(today - timedelta(days=45), today)


def _everything(figures) -> dict:
    """Return every number the dashboard reads from a LiveFigures or a SnapshotFigures."""
    return {
        "course": figures.by_course(list(Figure)), "class": figures.by_class(FUNNEL),
        "commune": figures.by_commune(FUNNEL), "craft": figures.by_craft(FUNNEL),
        "villages": {code: figures.by_village(FUNNEL, code) for code in (CHUYEN_MY, PHU_XUYEN_HN, PHU_XUYEN_TN)},
        "attendance": figures.attendance(), "weeks": figures.weekly(),
        **{f"attendance by {by}": figures.attendance(by) for by in ("course", "class", "commune", "village", "craft")},
        "village attendance": figures.attendance("village", commune_code=CHUYEN_MY),
    }


def test_a_snapshot_adds_up_to_the_live_figures_for_every_scope(app):
    period = _both_programmes()
    snapshot = take_snapshot(period)
    db.session.commit()
    counted = Period(period.first, period.last, as_of=snapshot.as_of)
    for scope in (Scope(), Scope(frozenset({CHUYEN_MY})), Scope(frozenset({PHU_XUYEN_TN, NO_COMMUNE})),
                  Scope(frozenset())):
        live, stored = _everything(LiveFigures(counted, scope)), _everything(SnapshotFigures(snapshot, counted, scope))
        assert stored == live, scope
    whole = _everything(LiveFigures(counted, Scope()))
    # Not an empty comparison: the programme has enrolments, classes, villages, crafts, attendance and weeks.
    assert sum(n[Figure.ENROLLED] for n in whole["course"].values()) >= 15
    assert len(whole["class"]) >= 4 and whole["attendance"].held > 0 and whole["villages"][CHUYEN_MY]
    assert any(week.enrolled for week in whole["weeks"]) and any(week.checked_in for week in whole["weeks"])


def test_a_new_count_replaces_the_old_one(app):
    make_trainee(enrolled_in=make_course("khoa-dem"))
    first = take_snapshot(default_period())
    if db.engine.dialect.name == "postgresql":  # the whole count read one moment of the database
        assert db.session.connection().get_isolation_level() == "REPEATABLE READ"
    db.session.commit()
    second = take_snapshot(default_period())
    db.session.commit()
    assert db.session.scalars(sa.select(FigureSnapshot.id)).all() == [second.id]
    assert db.session.scalar(sa.select(sa.func.count()).where(FigureRow.snapshot_id == first.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(FigureRow.snapshot_id == second.id)) > 0


def test_the_worker_job_counts_the_default_period(app):
    from lms.reports.tasks import count_figures_job

    make_trainee(enrolled_in=make_course("khoa-dem"))
    count_figures_job.call_local()
    snapshot = db.session.scalar(sa.select(FigureSnapshot))
    assert (snapshot.period_first, snapshot.period_last) == (default_period().first, default_period().last)
    stored = SnapshotFigures(snapshot, default_period(), Scope()).by_course([Figure.ENROLLED])
    assert sum(n[Figure.ENROLLED] for n in stored.values()) == 1


def _number(html: str, figure: Figure) -> int:
    return int(re.search(rf'href="/reports/trainees/{figure.value}\?[^"]*">([\d.]+)</a>', html).group(1)
               .replace(".", ""))


def test_the_dashboard_shows_the_worker_s_figures_when_counting_is_slow_and_its_lists_match_them_later(
        app, client, auth):
    course = make_course("khoa-dem")
    for _ in range(3):
        make_trainee(enrolled_in=course)
    take_snapshot(default_period())
    db.session.commit()
    make_trainee(enrolled_in=course)  # after the count: not in its figures, nor in the lists behind them
    auth.login(make_organizer(phone="0912888401").phone)

    app.config["FIGURES_LIVE_UNDER_S"] = 0.0  # every count is "slow": the worker's is shown
    html = client.get("/reports").get_data(as_text=True)
    assert _number(html, Figure.ENROLLED) == 3
    assert "Số liệu tính lúc" in html and "10 phút" in html and "as_of=" in html
    assert _links_match_their_lists(client, "/reports") >= 6
    listed = client.get(re.search(r'href="(/reports/trainees/enrolled\?[^"]*)"', html).group(1).replace("&amp;", "&"))
    assert "Tính đến" in listed.get_data(as_text=True)

    app.config["FIGURES_LIVE_UNDER_S"] = 3600.0  # quick to count: live, with the trainee enrolled since
    html = client.get("/reports").get_data(as_text=True)
    assert _number(html, Figure.ENROLLED) == 4 and "10 phút" not in html
    assert _links_match_their_lists(client, "/reports") >= 6


def test_an_official_reads_their_communes_share_of_the_worker_s_figures(app, client, auth):
    course = make_course("khoa-dem")
    make_trainee(enrolled_in=course, commune_code=CHUYEN_MY)
    make_trainee(enrolled_in=course, commune_code=PHU_XUYEN_HN)
    take_snapshot(default_period())
    official = make_user(Role.OFFICIAL)
    accounts.set_staff_places(official, communes=[CHUYEN_MY], provinces=())
    db.session.commit()
    app.config["FIGURES_LIVE_UNDER_S"] = 0.0
    auth.login(official.phone)
    html = client.get("/reports").get_data(as_text=True)
    assert _number(html, Figure.ENROLLED) == 1 and "Số liệu tính lúc" in html
    assert _links_match_their_lists(client, "/reports") >= 6


def test_old_figures_are_shown_with_a_warning_that_the_worker_may_have_stopped(app, client, auth):
    make_trainee(enrolled_in=make_course("khoa-dem"))
    take_snapshot(default_period(), now=utcnow() - timedelta(hours=2))
    db.session.commit()
    app.config["FIGURES_LIVE_UNDER_S"] = 0.0
    auth.login(make_organizer(phone="0912888402").phone)
    html = client.get("/reports").get_data(as_text=True)
    assert "bộ xử lý nền có thể đã dừng" in html


def test_a_quick_programme_counts_any_period_live(app):
    make_trainee(enrolled_in=make_course("khoa-dem"))
    take_snapshot(default_period())
    db.session.commit()
    app.config["FIGURES_LIVE_UNDER_S"] = 3600.0
    other = Period(default_period().first, default_period().last - timedelta(days=1))
    assert isinstance(figures_for(default_period(), Scope()), LiveFigures)
    assert isinstance(figures_for(other, Scope()), LiveFigures)
    app.config["FIGURES_LIVE_UNDER_S"] = 0.0
    assert isinstance(figures_for(default_period(), Scope()), SnapshotFigures)


def test_a_list_link_s_moment_that_is_not_one_is_ignored_not_a_500(app, client, auth):
    make_trainee(enrolled_in=make_course("khoa-dem"))
    auth.login(make_organizer(phone="0912888403").phone)
    for value in ("garbage", "2026-01-01T00:00:00", "9999-99-99T00:00Z", "x" * 500):
        response = client.get("/reports/trainees/enrolled", query_string={"as_of": value})
        assert response.status_code == 200, value
        assert "Tính đến" not in response.get_data(as_text=True)
        assert client.get("/reports", query_string={"as_of": value}).status_code == 200
        assert client.get("/reports/programme.xlsx", query_string={"as_of": value}).status_code in (200, 400)
    early = client.get("/reports/trainees/enrolled", query_string={"as_of": "2000-01-01T00:00:00Z"})
    assert re.search(r'class="list-count">0 ', early.get_data(as_text=True))


def test_lms_reports_count_counts_now(app):
    make_trainee(enrolled_in=make_course("khoa-dem"))
    result = app.test_cli_runner().invoke(args=["reports", "count"])
    assert result.exit_code == 0, result.output
    assert "Counted the figures of" in result.output
    snapshot = db.session.scalar(sa.select(FigureSnapshot))
    assert snapshot.finished_at is not None and snapshot.seconds is not None


def test_the_report_downloaded_beside_the_worker_s_figures_counts_what_they_count(app, client, auth):
    from lms.reports import programme_report
    from lms.reports.snapshots import latest_snapshot

    period = _both_programmes()
    course = make_course("khoa-dem")
    make_trainee(enrolled_in=course, commune_code=CHUYEN_MY)
    snapshot = take_snapshot(default_period())
    db.session.commit()
    make_trainee(enrolled_in=course, commune_code=CHUYEN_MY)  # after the count
    counted = Period(default_period().first, default_period().last, as_of=snapshot.as_of)
    issuer = programme_report.Issuer("Làng Số")
    for scope, commune in ((Scope(), None), (Scope(frozenset({CHUYEN_MY, PHU_XUYEN_TN})), None),
                           (Scope(), CHUYEN_MY)):
        for course_id in (None, course.id):
            live = programme_report.build_programme_report(counted, issuer=issuer, scope=scope,
                                                           commune_code=commune, course_id=course_id)
            stored = programme_report.build_programme_report(
                counted, issuer=issuer, scope=scope, commune_code=commune, course_id=course_id,
                counted=SnapshotFigures(latest_snapshot(counted), counted, scope))
            assert (stored.totals, stored.by_commune, stored.by_course, stored.by_commune_and_course) == (
                live.totals, live.by_commune, live.by_course, live.by_commune_and_course), (scope, commune, course_id)
    assert period  # the edge cases are in the default period's counts too
    app.config["FIGURES_LIVE_UNDER_S"] = 0.0
    auth.login(make_organizer(phone="0912888404").phone)
    html = client.get("/reports").get_data(as_text=True)
    link = re.search(r'href="(/reports/programme\.xlsx\?[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "as_of=" in link
    response = client.get(link)
    assert response.status_code == 200
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    totals = next(row for row in sheet.iter_rows(values_only=True) if isinstance(row[1], int))
    assert totals[1] == _number(html, Figure.ENROLLED)  # enrolments, the first figure: the count's, not now's


def _slow_programme(app):
    """A programme whose last count took long: what a province's is (minutes), made cheap for a test."""
    make_trainee(enrolled_in=make_course("khoa-dem"), commune_code=CHUYEN_MY)
    snapshot = take_snapshot(default_period())
    snapshot.seconds = 150.0
    db.session.commit()
    app.config["FIGURES_LIVE_UNDER_S"] = 2.0
    return snapshot


def test_another_period_of_a_large_programme_is_counted_by_the_worker_and_the_page_says_so(app, client, auth,
                                                                                           monkeypatch):
    from lms.reports import tasks

    _slow_programme(app)
    from lms.learning.models import Enrollment

    db.session.execute(sa.update(Enrollment).values(enrolled_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    asked = []
    monkeypatch.setattr(tasks, "count_snapshot_job", lambda snapshot_id: asked.append(snapshot_id))
    auth.login(make_organizer(phone="0912888405").phone)
    last = default_period().last - timedelta(days=1)
    first = default_period().first - timedelta(days=30)  # not the default period, even on the 1st of January
    url = f"/reports?date_from={first.isoformat()}&date_to={last.isoformat()}"
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 202
    assert "đang được tính" in html and "khoảng 3 phút" in html and 'http-equiv="refresh"' in html
    assert client.get(url).status_code == 202 and len(asked) == 1  # asked once while it is under way
    pending = db.session.get(FigureSnapshot, asked[0])
    assert (pending.period_last, pending.finished_at) == (last, None)

    monkeypatch.undo()
    tasks.count_snapshot_job.call_local(pending.id)  # the real job, as the worker runs it
    db.session.expire_all()
    db.session.get(FigureSnapshot, pending.id).seconds = 150.0  # it took long, as a province's does
    db.session.commit()
    html = client.get(url).get_data(as_text=True)
    assert "Số liệu tính lúc" in html and _number(html, Figure.ENROLLED) == 1
    assert _links_match_their_lists(client, url) >= 6
    # The default period's count is still there: counting another period drops only older counts of that one.
    assert client.get("/reports").status_code == 200
    assert len(db.session.scalars(sa.select(FigureSnapshot)).all()) == 2


def test_a_new_day_shows_the_newest_count_with_its_own_period_until_the_worker_counts_the_new_one(
        app, client, auth):
    snapshot = _slow_programme(app)
    yesterday = snapshot.period_last - timedelta(days=1)
    snapshot.period_last = yesterday  # as if counted yesterday: today's default period has no count yet
    db.session.commit()
    auth.login(make_organizer(phone="0912888406").phone)
    response = client.get("/reports")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Số liệu tính lúc" in html
    assert f"{yesterday.day} thg {yesterday.month}" in html  # the count's own last day, not today


def test_the_active_and_stuck_lists_of_a_count_stay_its_enrolments_however_the_trainees_work_since(
        app, client, auth):
    from lms.learning.models import Enrollment

    course = make_course("khoa-dem")
    stuck, active = make_trainee(enrolled_in=course), make_trainee(enrolled_in=course)
    db.session.execute(sa.update(Enrollment).where(Enrollment.user_id == stuck.id).values(
        enrolled_at=utcnow() - timedelta(days=30), last_activity_at=utcnow() - timedelta(days=20)))
    db.session.execute(sa.update(Enrollment).where(Enrollment.user_id == active.id).values(
        enrolled_at=utcnow() - timedelta(days=30), last_activity_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    take_snapshot(default_period())
    db.session.commit()
    # Both work again after the count: live, one is no longer stuck, and the other's activity moved on.
    db.session.execute(sa.update(Enrollment).values(last_activity_at=utcnow() + timedelta(seconds=1)))
    db.session.commit()
    app.config["FIGURES_LIVE_UNDER_S"] = 0.0
    auth.login(make_organizer(phone="0912888407").phone)
    html = client.get("/reports").get_data(as_text=True)
    assert _number(html, Figure.STUCK) == 1 and _number(html, Figure.ACTIVE) == 1
    assert _links_match_their_lists(client, "/reports") >= 6
    link = re.search(r'href="(/reports/trainees/stuck\?[^"]*)"', html).group(1).replace("&amp;", "&")
    listed = client.get(link).get_data(as_text=True)
    assert stuck.full_name in listed and "có thể không còn trong danh sách" not in listed
    exported = client.get(link.replace("/stuck?", "/stuck.csv?")).get_data(as_text=True)
    assert stuck.phone in exported and active.phone not in exported
