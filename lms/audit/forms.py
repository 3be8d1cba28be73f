"""The audit screen's filters, read from the query string."""

from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import Optional, ValidationError

from lms.audit.models import AuditAction
from lms.audit.services import AuditFilter
from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.core.params import MAX_ID


def _account_number(_form, field):
    # IntegerField has already said "not a number" for text; this catches 0, negatives and huge ones.
    if field.data is not None and not 1 <= field.data <= MAX_ID:
        raise ValidationError(_l("Type an account number."))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only reads

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    action = SelectField(_l("Action"), validators=[Optional()])
    actor = IntegerField(_l("Done by (account number)"), validators=[Optional(), _account_number])
    subject = IntegerField(_l("Whose data (account number)"), validators=[Optional(), _account_number])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("All actions"))] + AuditAction.choices()

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def to_filter(self, up_to_id: int | None = None) -> AuditFilter:
        """Return the filters chosen; a field with an error filters nothing (its message says why)."""

        def valid(field):
            return None if field.errors else (field.data or None)

        action = valid(self.action)
        return AuditFilter(date_from=valid(self.date_from), date_to=valid(self.date_to),
                           action=AuditAction(action) if action else None,
                           actor_id=valid(self.actor), subject_id=valid(self.subject), up_to_id=up_to_id)

    def kept(self) -> dict[str, str]:
        """Return the query-string values to carry to the next page and the exports."""
        return {f.name: f.raw_data[0] for f in self if f.raw_data and f.raw_data[0] and not f.errors}
