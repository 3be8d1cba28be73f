"""The dashboard's period, read from the query string."""

from datetime import date

from wtforms import DateField
from wtforms.validators import Optional, ValidationError

from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.core.timezone import local_today
from lms.reports.figures import Period


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only reads

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def period(self) -> Period:
        """Return the chosen period; a field with an error keeps its default (its message says why).

        By default: from the first of January of this year in Vietnam to today.
        """
        today = local_today()
        first = self.date_from.data if self.date_from.data and not self.date_from.errors else date(today.year, 1, 1)
        last = self.date_to.data if self.date_to.data and not self.date_to.errors else today
        if last < first:
            first, last = date(today.year, 1, 1), today
        return Period(first, last)

    def kept(self) -> dict[str, str]:
        """Return the query-string values to carry to the lists and the next page."""
        return {f.name: f.raw_data[0] for f in self if f.raw_data and f.raw_data[0] and not f.errors}
