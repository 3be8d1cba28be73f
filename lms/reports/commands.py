"""`lms reports`: the report for the authorities from the command line."""

import os
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("reports")
def reports_group():
    """Make the programme's reports."""


@reports_group.command("programme")
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day (YYYY-MM-DD, Vietnam); default: 1 January of this year.")
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day (YYYY-MM-DD, Vietnam), included; default: today.")
@click.option("--format", "file_format", type=click.Choice(["xlsx", "pdf"]), default="xlsx", show_default=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--commune", default=None, help='Only the trainees of one commune: its code or name ("Xã Chuyên Mỹ").')
@click.option("--course", "course_slug", default=None, help="Only one course, by its slug.")
@with_appcontext
def programme_command(date_from, date_to, file_format, output, commune, course_slug):
    """Write "Báo cáo kết quả bồi dưỡng" (the whole programme, by commune and by course) to a file."""
    import sqlalchemy as sa

    from lms.accounts.services import UnknownPlace, resolve_commune
    from lms.core.extensions import db
    from lms.core.timezone import local_today
    from lms.courses.models import Course
    from lms.reports import programme_report
    from lms.reports.figures import Period

    today = local_today()
    first = date_from.date() if date_from else today.replace(month=1, day=1)
    last = date_to.date() if date_to else today
    if last < first:
        raise click.ClickException(f"--to {last.isoformat()} is before --from {first.isoformat()}.")
    try:
        commune_code = resolve_commune(commune) if commune else None
    except UnknownPlace as exc:
        raise click.ClickException(str(exc)) from None
    course_id = None
    if course_slug:
        course_id = db.session.scalar(sa.select(Course.id).where(Course.slug == course_slug))
        if course_id is None:
            raise click.ClickException(f"No course has the slug {course_slug!r}.")
    report = programme_report.build_programme_report(
        Period(first, last), issuer=programme_report.Issuer.from_config(current_app.config),
        commune_code=commune_code, course_id=course_id)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a failure leaves no half-written file under its name.
    fd, partial = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            if file_format == "xlsx":
                programme_report.write_programme_xlsx(report, fh)
            else:
                fh.write(programme_report.render_programme_pdf(report))
        os.replace(partial, output)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    click.echo(f"Wrote {output} ({report.period_text()}, {report.totals[programme_report.FIGURES[0]]} enrolments)")


@reports_group.command("count")
@with_appcontext
def count_command():
    """Count the dashboard's figures for the default period now, as the worker does every few minutes."""
    from lms.core.extensions import db
    from lms.reports.forms import default_period
    from lms.reports.snapshots import take_snapshot

    snapshot = take_snapshot(default_period())
    db.session.commit()
    click.echo(f"Counted the figures of {snapshot.period_first.isoformat()}–{snapshot.period_last.isoformat()} "
               f"as of {snapshot.as_of.isoformat(timespec='seconds')} in {snapshot.seconds:.1f} s.")
