"""The dashboard's breakdown tables: rows built from figures' counts, sorted by a column the reader picks."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from lms.attendance.figures import AttendanceFigure
from lms.core.text import vietnamese_key
from lms.reports.figures import FUNNEL, Figure

#: The columns a breakdown table sorts by, as the `sort` query argument names them.
NAME, ATTENDANCE = "name", "attendance"
SORTABLE = frozenset({NAME, ATTENDANCE, *(f.value for f in Figure)})
#: Bars drawn in a table's chart at most; the table holds every row.
CHART_ROWS = 12


@dataclass
class Row:
    """One row of a breakdown: its name, the query arguments of the lists behind its numbers, its counts."""

    name: str
    #: Added to the list links (course=…, commune=…&village=…).
    args: dict
    counts: dict[Figure, int]
    attendance: AttendanceFigure | None = None
    #: The dashboard address one level down (a province's communes, a commune's villages).
    drill: str | None = None
    #: "No commune recorded" and the like: kept after the named rows whatever the order.
    unnamed: bool = False
    #: What sorting by name uses (a week sorts by its date); the name in Vietnamese order by default.
    order: object = None

    def __post_init__(self):
        if self.order is None:
            self.order = vietnamese_key(self.name)


@dataclass(frozen=True)
class Sort:
    """The column every table of the page is sorted by, and the direction."""

    column: str = NAME
    descending: bool = False

    @classmethod
    def from_args(cls, args, default: "Sort | None" = None) -> "Sort":
        """Read ?sort=&dir=; none, or anything unknown, is ignored and the tables keep their usual order (`default`)."""
        column = args.get("sort")
        if column not in SORTABLE:
            return default or cls()
        return cls(column, args.get("dir") == "desc")

    def args(self) -> dict[str, str]:
        """Return the query arguments that keep this order on the next page (none for the usual one)."""
        if self.column == NAME and not self.descending:
            return {}
        return {"sort": self.column, "dir": "desc" if self.descending else "asc"}

    def aria(self, column: str) -> str | None:
        """Return the header's aria-sort value, or None for a column the tables are not sorted by."""
        if column != self.column:
            return None
        return "descending" if self.descending else "ascending"

    def link_args(self, column: str) -> dict[str, str]:
        """Return the query arguments of a header's link: that column, the other way when it is already the one."""
        if column == self.column:
            return {"sort": column, "dir": "asc" if self.descending else "desc"}
        # Numbers read best largest first; names from A.
        return {"sort": column, "dir": "asc" if column == NAME else "desc"}

    def apply(self, rows: Iterable[Row], columns: Iterable[str]) -> list[Row]:
        """Return the rows in this order when the table has the column (else by name); unnamed rows last."""
        rows = list(rows)
        column = self.column if self.column in set(columns) else NAME
        key = _keys[column] if column in _keys else _count_key(Figure(column))
        descending = self.descending and column == self.column
        named = sorted((r for r in rows if not r.unnamed), key=lambda r: (key(r), r.order), reverse=descending)
        return named + [r for r in rows if r.unnamed]


def _count_key(figure: Figure) -> Callable[[Row], int]:
    return lambda row: row.counts.get(figure, 0)


def _attendance_key(row: Row) -> float:
    percent = row.attendance.percent if row.attendance is not None else None
    return -1.0 if percent is None else percent


_keys = {NAME: lambda row: row.order, ATTENDANCE: _attendance_key}

#: The columns of a breakdown table with attendance, in order.
COLUMNS = (NAME, *(f.value for f in FUNNEL), ATTENDANCE)


def week_label(monday: date, first: date, last: date) -> str:
    """Return a week as people read it: "Tuần 45 (02/11–08/11)"."""
    from lms.core.i18n import gettext as _

    return _("Week %(number)d (%(first)s–%(last)s)", number=monday.isocalendar().week,
             first=first.strftime("%d/%m"), last=last.strftime("%d/%m"))
