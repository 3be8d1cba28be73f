"""Forms for certificate templates, revoking and re-issuing."""

from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.accounts.forms import strip_text
from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l


def _asset_id(value):
    """Turn the select's value into an asset id, or None for "no image"."""
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


class TemplateForm(FlaskForm):
    issuer_name = StringField(_l("Issuing organisation"), filters=[strip_text], validators=[Length(max=200)],
                              description=_l("Printed at the top. Leave empty to use the name of this site."))
    logo_asset_id = SelectField(_l("Logo"), coerce=_asset_id, validate_choice=False)
    wording = StringField(_l("Wording above the course title"), filters=[strip_text],
                          validators=[DataRequired(_l("Enter the wording.")), Length(max=300)])
    hours = IntegerField(_l("Hours"), validators=[Optional(), NumberRange(1, 5000)],
                         description=_l("Leave empty to use the course's estimated hours."))
    validity_months = IntegerField(_l("Valid for (months)"), validators=[Optional(), NumberRange(1, 600)],
                                   description=_l("Leave empty if the certificate never expires."))
    signer1_name = StringField(_l("First signer: name"), filters=[strip_text],
                               validators=[DataRequired(_l("Enter at least one signer.")), Length(max=120)])
    signer1_title = StringField(_l("First signer: title"), filters=[strip_text], validators=[Length(max=160)])
    signer1_signature_asset_id = SelectField(_l("First signer: signature image"), coerce=_asset_id,
                                             validate_choice=False)
    signer2_name = StringField(_l("Second signer: name"), filters=[strip_text], validators=[Length(max=120)])
    signer2_title = StringField(_l("Second signer: title"), filters=[strip_text], validators=[Length(max=160)])
    signer2_signature_asset_id = SelectField(_l("Second signer: signature image"), coerce=_asset_id,
                                             validate_choice=False)
    auto_issue = BooleanField(_l("Issue automatically when a trainee completes the course"), default=True)

    IMAGE_FIELDS = ("logo_asset_id", "signer1_signature_asset_id", "signer2_signature_asset_id")

    def set_image_choices(self, choices: list[tuple[int, str]]) -> None:
        """Offer the course's images; a value not among them is dropped when validated."""
        allowed = [(0, _l("No image")), *choices]
        for name in self.IMAGE_FIELDS:
            getattr(self, name).choices = allowed
        self._allowed_images = {value for value, _ in choices}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for name in self.IMAGE_FIELDS:
            field = getattr(self, name)
            if field.data is not None and field.data not in getattr(self, "_allowed_images", set()):
                field.data = None
        return ok

    def values(self) -> dict:
        """Return the fields as save_template takes them."""
        return {name: getattr(self, name).data for name in (
            "issuer_name", "wording", "hours", "validity_months", "logo_asset_id", "signer1_name", "signer1_title",
            "signer1_signature_asset_id", "signer2_name", "signer2_title", "signer2_signature_asset_id",
            "auto_issue")}


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revoking"), filters=[strip_text],
                           validators=[DataRequired(_l("Give the reason for revoking.")), Length(max=300)],
                           description=_l("Shown on the public verification page."))


class ReissueForm(FlaskForm):
    holder_name = StringField(_l("Holder's name as it should be printed"), filters=[strip_text],
                              validators=[DataRequired(_l("Enter the holder's name.")), Length(max=120)])
