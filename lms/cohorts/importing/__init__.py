"""Importing trainees into a class from an organizer's own spreadsheet.

The pipeline, one module a step: ``headers`` reads the sheet (with the kernel's reader,
lms.core.spreadsheets.read) and finds which row names the columns and which column is which
field; ``cells`` parses each cell into a field or says what is wrong with it; ``rows`` checks
every row, plans what each will do, and writes them all or none (``dry_run``, ``commit_import``;
the rules for existing accounts are in its docstring); ``workbooks`` hands the sheet back with its
errors, and the template; ``slips`` gives activation codes, ``slip_pdf`` prints them. ``store`` keeps an upload between the
dry run and the import, ``tasks`` imports a big one in the worker, ``views`` are the pages.

The names callers use are re-exported here (``importing.dry_run``, ``importing.ImportFileError``).
"""

from lms.cohorts.importing.headers import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    ImportFileError,
    Table,
    find_header,
    read_table,
)
from lms.cohorts.importing.rows import (
    CellError,
    ImportBlocked,
    ImportReport,
    Outcome,
    RowResult,
    commit_import,
    dry_run,
)
from lms.cohorts.importing.slips import (
    issue_slips,
    trainees_waiting_for_codes,
)
from lms.cohorts.importing.workbooks import TEMPLATE_HEADERS, errors_workbook, template_workbook

__all__ = [
    "MAX_FILE_BYTES", "MAX_ROWS", "TEMPLATE_HEADERS", "CellError", "ImportBlocked", "ImportFileError", "ImportReport",
    "Outcome", "RowResult", "Table", "commit_import", "dry_run", "errors_workbook", "find_header", "issue_slips",
    "read_table", "template_workbook", "trainees_waiting_for_codes",
]
