"""The dashboard's period, read from the query string."""

from datetime import date, datetime

from wtforms import DateField, HiddenField
from wtforms.validators import Optional, ValidationError

from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.core.timezone import local_today
from lms.reports.figures import Period


def default_period() -> Period:
    """Return the period the dashboard shows unless asked: from the first of January of this year in Vietnam to today."""
    today = local_today()
    return Period(date(today.year, 1, 1), today)


def moment_arg(text: str | None) -> datetime | None:
    """Read a moment written by format_moment (ISO 8601 with its offset); None for anything else."""
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def format_moment(moment: datetime) -> str:
    """Write a moment for a link (UTC, to the microsecond the figures were counted at): what moment_arg reads back."""
    from datetime import UTC

    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only reads

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    #: The moment the dashboard's figures were counted at, carried by the links to the lists behind them.
    as_of = HiddenField(validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def validate_as_of(self, field):
        if field.data and moment_arg(field.data) is None:
            raise ValidationError(_l("This link's time is not valid."))

    def period(self) -> Period:
        """Return the chosen period; a field with an error keeps its default (its message says why).

        By default: from the first of January of this year in Vietnam to today; counted as of `as_of` if given.
        """
        default = default_period()
        first = self.date_from.data if self.date_from.data and not self.date_from.errors else default.first
        last = self.date_to.data if self.date_to.data and not self.date_to.errors else default.last
        if last < first:
            first, last = default.first, default.last
        return Period(first, last, as_of=None if self.as_of.errors else moment_arg(self.as_of.data))

    def kept(self) -> dict[str, str]:
        """Return the query-string values to carry to the lists and the next page."""
        return {f.name: f.raw_data[0] for f in self if f.raw_data and f.raw_data[0] and not f.errors}
