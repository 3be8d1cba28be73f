"""A damaged upload through the import's own doors: the command line answers the reader's error and stands.

The reader's own tests (every kind of damage, the child process) are tests/core/spreadsheets/test_read.py.
"""

import pytest

from lms.cohorts.services import create_cohort
from lms.core.extensions import db
from tests.core.spreadsheets.test_read import UNREADABLE, checks_miss_it, crasher, english  # noqa: F401 - fixtures
from tests.factories import CHUYEN_MY, make_course


@pytest.fixture
def cohort(app):
    cohort = create_cohort(code="PX-KT-01", course=make_course(), name="Khảm trai Chuyên Mỹ", commune_code=CHUYEN_MY)
    db.session.commit()
    return cohort


def test_the_command_line_import_survives_a_file_that_aborts_calamine(runner, cohort, crasher, checks_miss_it,  # noqa: F811
                                                                       tmp_path):
    path = tmp_path / "lop.xls"
    path.write_bytes(crasher)
    for extra in (["--dry-run"], []):
        result = runner.invoke(args=["trainees", "import", str(path), "--cohort", cohort.code, *extra])
        assert result.exit_code == 1, result.output
        assert UNREADABLE in result.output
