"""CLI commands for classes and trainee imports."""

from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext

cohorts_group = click.Group("cohorts", help="Manage classes (cohorts).")
trainees_group = click.Group("trainees", help="Import trainees.")


def _parse_day(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use the form YYYY-MM-DD, e.g. 2026-03-15") from None


@cohorts_group.command("create")
@click.option("--code", required=True, help="Short class code, e.g. PX-KT-01.")
@click.option("--course", "course_slug", required=True, help="Slug of the course the class follows.")
@click.option("--name", required=True, help="Name of the class.")
@click.option("--start", "start_date", callback=_parse_day, help="First day, YYYY-MM-DD.")
@click.option("--end", "end_date", callback=_parse_day, help="Last day, YYYY-MM-DD.")
@click.option("--capacity", type=click.IntRange(min=1), default=None, help="Most trainees the class takes.")
@click.option("--commune", default=None, help="Commune or ward of the class, e.g. \"Xã Chuyên Mỹ\" or \"phu xuyen\".")
@click.option("--province", default=None,
              help="Province of the commune, by name or code, e.g. \"Hà Nội\"; needed for names used in several.")
@with_appcontext
def create_cohort_command(code, course_slug, name, start_date, end_date, capacity, commune, province):
    """Create a class of a course."""
    import sqlalchemy as sa

    from lms.cohorts import services
    from lms.core.extensions import db
    from lms.courses.models import Course

    course = db.session.scalar(sa.select(Course).where(Course.slug == course_slug.strip()))
    if course is None:
        raise click.ClickException(f"No course has the slug {course_slug!r}.")
    commune_code = _commune_option(commune, province)
    try:
        cohort = services.create_cohort(code=code, course=course, name=name, start_date=start_date,
                                        end_date=end_date, capacity=capacity, commune_code=commune_code)
    except services.CohortError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created class {cohort.code} ({cohort.name}) of course {course.slug}.")


def _commune_option(commune: str | None, province: str | None) -> int | None:
    """Resolve --commune (and --province) with the one commune matcher, or explain why not."""
    from lms.core.places import MatchStatus, match_commune, match_province

    province_code = None
    if province:
        province_code = match_province(province)
        if province_code is None:
            raise click.ClickException(f"{province!r} is not a province or city in the official list.")
    if not commune:
        if province_code is not None:
            raise click.ClickException("--province only tells where --commune is: give --commune too.")
        return None
    match = match_commune(commune, province_code)
    if match.status == MatchStatus.AMBIGUOUS:
        names = "; ".join(c.full_name for c in match.candidates)
        hint = "write the name with its tone marks" if province_code else "add --province"
        raise click.ClickException(f"{commune!r} could be any of: {names}. To choose, {hint}.")
    if match.status == MatchStatus.NOT_FOUND:
        raise click.ClickException(f"{commune!r} is not a commune or ward in the official list (since 1 July 2025).")
    if province_code is not None and match.commune.province_code != province_code:
        raise click.ClickException(f"{match.commune.full_name} is not in the province {province!r}.")
    return match.commune.code


@trainees_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cohort", "cohort_code", required=True, help="Code of the class to put the trainees in.")
@click.option("--dry-run", is_flag=True, help="Check the file and show what would happen; write nothing.")
@with_appcontext
def import_trainees_command(file, cohort_code, dry_run):
    """Import trainees from an XLSX, XLS, ODS or CSV file into a class, all or nothing.

    Exits with status 1, writing nothing, when the file or any row has an error.
    """
    from lms.cohorts import importing
    from lms.cohorts.services import get_cohort_by_code
    from lms.core.extensions import db

    cohort = get_cohort_by_code(cohort_code)
    if cohort is None:
        raise click.ClickException(f"No class has the code {cohort_code!r}.")
    if file.stat().st_size > importing.MAX_FILE_BYTES:
        raise click.ClickException(f"{file.name} is larger than {importing.MAX_FILE_BYTES // 2**20} MB.")
    data = file.read_bytes()
    try:
        report = importing.dry_run(cohort, data)
    except importing.ImportFileError as exc:
        click.echo(f"{file.name}: {exc}", err=True)
        raise SystemExit(1) from None
    _echo_report(file.name, report)
    if not report.ready:
        click.echo(f"Nothing was imported: {report.error_count + len(report.file_errors)} error(s) "
                   f"in {file.name}.", err=True)
        raise SystemExit(1)
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    try:
        report = importing.commit_import(cohort, data)
    except importing.ImportBlocked as blocked:
        db.session.rollback()
        for text in blocked.report.all_error_texts():
            click.echo(text, err=True)
        click.echo("Nothing was imported: the database changed during the check.", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(f"Imported into {cohort.code}: {report.joining} joined the class "
               f"({report.counts['new']} new accounts). Print their activation slips from the class's page "
               f"or with `lms trainees slips --cohort {cohort.code}`.")


def _echo_report(name: str, report) -> None:
    where = f"sheet {report.sheet_name!r}, " if report.format != "csv" else ""
    click.echo(f"{name}: {report.format.upper()}, {where}column names on row {report.header_row or '-'}")
    for column in report.columns:
        target = column["label"] or f"not imported{': ' + column['unused_reason'] if column['unused_reason'] else ''}"
        click.echo(f"  {column['letter']:>3} {column['header']!r} -> {target}")
    counts = report.counts
    click.echo(f"Rows: {len(report.rows)} ({report.skipped_empty_rows} empty skipped): "
               f"{counts['new']} new, {counts['enrolled']} existing to add, {counts['updated']} existing with "
               f"details added, {counts['already_enrolled']} already in the class, {counts['error']} with errors.")
    for text in report.file_errors:
        click.echo(f"Error: {text}", err=True)
    for row in report.rows:
        for error in row.errors:
            click.echo(str(error), err=True)


@trainees_group.command("slips")
@click.option("--cohort", "cohort_code", required=True, help="Code of the class.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PDF.")
@click.option("--login-url", default="http://localhost:5000/activate", show_default=True,
              help="Activation address printed on the slips.")
@click.option("--all", "everyone", is_flag=True, help="Also replace codes not yet used (older slips stop working).")
@with_appcontext
def print_slips_command(cohort_code, out_path, login_url, everyone):
    """Issue one-time activation codes to a class's trainees and write the slips to a PDF."""
    from lms.audit.models import AuditAction, AuditObject
    from lms.audit.services import record_event
    from lms.cohorts import importing
    from lms.cohorts.importing.slip_pdf import render_activation_slips
    from lms.cohorts.services import get_cohort_by_code
    from lms.core.extensions import db

    cohort = get_cohort_by_code(cohort_code)
    if cohort is None:
        raise click.ClickException(f"No class has the code {cohort_code!r}.")
    slips = importing.issue_slips(cohort, only_without_code=not everyone)
    if not slips:
        click.echo("No trainee of this class needs a slip.")
        return
    for slip in slips:
        slip["login_url"] = login_url
    out_path.write_bytes(render_activation_slips(slips, title=f"{cohort.code} · {cohort.name}"))
    record_event(AuditAction.ISSUED_CODES, None, object_kind=AuditObject.ACTIVATION_SLIPS,
                 object_ref=f"{cohort.code} · {len(slips)} · cli")
    db.session.commit()
    click.echo(f"Wrote {len(slips)} slips to {out_path}.")
