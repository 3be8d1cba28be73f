"""CLI commands for attendance."""

import contextlib
import glob
import os
import re
import signal
import tempfile
import threading
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

attendance_group = click.Group("attendance", help="Attendance exports.")


@attendance_group.command("export")
@click.option("--cohort", "cohort_code", metavar="CODE", help="One class, by its code.")
@click.option("--all", "all_cohorts", is_flag=True, help="Every class; narrow with --course, --commune, --from, --to.")
@click.option("--format", "file_format", type=click.Choice(["xlsx", "csv"]),
              help="Default: the output file's extension.")
@click.option("--output", "-o", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--course", "course_slug", metavar="SLUG", help="Classes of this course only.")
@click.option("--commune", "commune_code", type=int, metavar="CODE", help="Classes held in this commune only.")
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (Vietnam time).")
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (Vietnam time).")
@with_appcontext
def export_command(cohort_code, all_cohorts, file_format, output, course_slug, commune_code, date_from, date_to):
    """Export attendance: XLSX (detail, roster, sessions, notes) or CSV (detail only).

    Cancelled sessions and sessions not yet held are left out; see lms.attendance.exports.
    """
    from lms.attendance import exports
    from lms.cohorts.services import get_cohort_by_code

    if bool(cohort_code) == all_cohorts:
        raise click.UsageError("Give either --cohort CODE or --all.")
    if cohort_code and (course_slug or commune_code is not None):
        raise click.UsageError("--course and --commune narrow --all; a class has one course and one commune.")
    file_format = file_format or output.suffix.lstrip(".").lower()
    if file_format not in ("xlsx", "csv"):
        raise click.UsageError("Give --format xlsx or csv, or an output file ending in .xlsx or .csv.")
    cohort = None
    if cohort_code:
        cohort = get_cohort_by_code(cohort_code)
        if cohort is None:
            raise click.ClickException(f"No class has the code {cohort_code!r}.")
    filters = {"cohort": cohort, "course_slug": course_slug, "commune_code": commune_code,
               "date_from": date_from.date() if date_from else None, "date_to": date_to.date() if date_to else None}

    started = time.perf_counter()
    # Written beside the target and renamed at the end: a failed or interrupted export never leaves
    # half a file. The partial file's name holds this process's id, so the next run can tell a killed
    # run's leftover (kill -9 runs no clean-up) from another export still writing.
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(output)
    fd, partial = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.{os.getpid()}.", suffix=".part")
    try:
        with _signals_raise(), os.fdopen(fd, "wb") as fh:
            if file_format == "xlsx":
                counts = exports.export_attendance_xlsx(fh, **filters)
            else:
                counts = {"CSV": exports.export_attendance_csv(fh, **filters)}
        os.replace(partial, output)
    except exports.ExportError as exc:
        raise click.ClickException(str(exc)) from None
    finally:  # any exception, Ctrl-C, and SIGTERM/SIGHUP (turned into SystemExit below)
        if os.path.exists(partial):
            os.unlink(partial)
    _record_export(file_format, filters)
    summary = ", ".join(f"{name}: {n} rows" for name, n in counts.items())
    click.echo(f"Wrote {output} in {time.perf_counter() - started:.1f} s ({summary}).")


def _record_export(file_format: str, filters: dict) -> None:
    """Note the export in the audit log, by no account: whoever ran the command (codes only, never the path)."""
    from lms.audit.models import AuditAction, AuditObject
    from lms.audit.services import record_event
    from lms.core.extensions import db

    cohort = filters["cohort"]
    parts = [cohort.code if cohort else None, filters["course_slug"], filters["commune_code"],
             filters["date_from"], filters["date_to"], file_format, "cli"]
    record_event(AuditAction.EXPORTED_LIST, None, object_kind=AuditObject.ATTENDANCE,
                 object_ref=" · ".join(str(part) for part in parts if part))
    db.session.commit()


_PARTIAL = re.compile(r"\.(?P<pid>\d+)\.[^.]+\.part$")


def remove_stale_partials(output: Path) -> list[Path]:
    """Delete the partial files an earlier export to this file left when it was killed; return them."""
    removed = []
    for path in output.parent.glob(f".{glob.escape(output.name)}.*.part"):
        match = _PARTIAL.search(path.name[len(output.name) + 1:])
        if match and _is_running(int(match["pid"])):
            continue  # another export to the same file, still writing
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _is_running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of a killed process whose id this one now has
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _signals_raise():
    """Turn SIGTERM and SIGHUP into SystemExit while the export writes, so its clean-up runs.

    Python's default for them ends the process at once, leaving the partial file behind.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
