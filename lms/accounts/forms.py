"""Forms for logging in, registering and managing accounts."""

from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from lms.accounts.models import Role
from lms.accounts.passwords import ONE_TIME_CODE_DIGITS
from lms.core.forms import FlaskForm
from lms.core.i18n import lazy_gettext as _l
from lms.core.places import communes_of, get_commune, provinces
from lms.core.text import (
    ForeignPhoneNumber,
    InvalidPhoneNumber,
    normalize_code,
    normalize_phone,
    normalize_text,
)
from lms.core.timezone import local_today

DEFAULT_PROVINCE_CODE = 1  # Hà Nội, where the first programme runs


def foreign_phone_text(exc: ForeignPhoneNumber) -> str:
    """Return what to say under a phone field holding another country's number."""
    return _l("This is a foreign number (country code +%(code)d). Only Vietnamese phone numbers can be "
              "used: enter one, for example 0912 345 678.", code=exc.country_code)


def valid_phone(form, field):
    """Accept any common way of writing a Vietnamese phone number; refuse foreign ones by name."""
    try:
        field.data = normalize_phone(field.data)
    except ForeignPhoneNumber as exc:
        raise ValidationError(foreign_phone_text(exc)) from None
    except InvalidPhoneNumber:
        raise ValidationError(
            _l("Enter a Vietnamese phone number, for example 0912 345 678.")
        ) from None


def not_a_foreign_phone(form, field):
    """Refuse another country's number at login with its own words; any other typo stays 'wrong phone or password'."""
    try:
        normalize_phone(field.data)
    except ForeignPhoneNumber as exc:
        raise ValidationError(foreign_phone_text(exc)) from None
    except InvalidPhoneNumber:
        pass


def strip_text(value):
    return normalize_text(value) if isinstance(value, str) else value


def strip_lines(value):
    """Normalise each line of a text area, dropping the empty ones (one item per line)."""
    if not isinstance(value, str):
        return value
    return "\n".join(line for line in map(normalize_text, value.splitlines()) if line)


class LoginForm(FlaskForm):
    phone = TelField(
        _l("Phone number"),
        validators=[DataRequired(_l("Enter your phone number.")), not_a_foreign_phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    #: Opt-in: a phone shared in the family or the commune house must not stay logged in by default.
    remember = BooleanField(_l("Stay logged in on this phone"), default=False)


class PlaceFieldsMixin:
    """Province then commune, both from the official list."""

    province = SelectField(_l("Province / city"), coerce=int, validate_choice=False)
    commune = SelectField(
        _l("Commune / ward"),
        coerce=int,
        validate_choice=False,  # validate_commune checks it against the chosen province
    )

    def fill_place_choices(self, default_commune: int | None = None):
        commune = get_commune(default_commune)
        if self.province.data is None:
            self.province.data = commune.province_code if commune else DEFAULT_PROVINCE_CODE
        self.province.choices = [SelectChoice(code, name) for code, name in provinces()]
        self.commune.choices = [SelectChoice(0, _l("— Choose —"))] + [
            SelectChoice(c.code, c.name) for c in communes_of(self.province.data)
        ]

    commune_required = True

    def validate_province(self, field):
        if field.data not in dict(provinces()):
            raise ValidationError(_l("Choose a province from the list."))

    def validate_commune(self, field):
        if not field.data and not self.commune_required:
            field.data = None
            return
        commune = get_commune(field.data)
        if commune is None or commune.province_code != self.province.data:
            raise ValidationError(_l("Choose your commune or ward from the list."))


#: No one born before this takes a course; an earlier year is a typing slip (1066 for 1966).
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class ProfileFieldsMixin(PlaceFieldsMixin):
    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter your full name.")), Length(max=120)],
        filters=[strip_text],
        render_kw={"autocomplete": "name"},
    )
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    village = StringField(
        _l("Village / hamlet"), validators=[Optional(), Length(max=120)], filters=[strip_text]
    )
    business_name = StringField(
        _l("Craft or business name"),
        validators=[Optional(), Length(max=160)],
        filters=[strip_text],
        description=_l("For example: Xưởng khảm trai Chuôn Ngọ"),
    )
    email = EmailField(
        _l("E-mail (optional)"),
        validators=[
            Optional(),
            # Checks the form of the address only: no DNS look-up (slow, and fails offline).
            Email(_l("This e-mail address is not valid."), check_deliverability=False),
            Length(max=254),
        ],
        filters=[strip_text],
    )

    def validate_date_of_birth(self, field):
        if field.data and not EARLIEST_BIRTH_DATE <= field.data <= local_today():
            raise ValidationError(_l("Check the date of birth: it cannot be in the future or before 1900."))


def new_password_field(label) -> PasswordField:
    """Return a field for choosing a password: 8 to 128 characters, offered to the phone's password manager."""
    return PasswordField(
        label,
        validators=[DataRequired(_l("Choose a password.")), Length(min=8, max=128)],
        render_kw={"autocomplete": "new-password"},
        description=_l("At least 8 characters."),
    )


def repeat_password_field(label, of: str) -> PasswordField:
    """Return a field that must repeat the password typed in the field named `of`."""
    return PasswordField(
        label,
        validators=[EqualTo(of, _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


def consent_field() -> BooleanField:
    """Return the box that says the person agrees to the privacy notice: never ticked for them, required."""
    return BooleanField(
        _l("I have read the privacy notice and agree that my personal data is processed as it says."),
        validators=[DataRequired(_l("To use the courses, tick the box to agree to the privacy notice. "
                                    "Read the notice first if you want to know what it says."))],
        default=False,
    )


class RegisterForm(ProfileFieldsMixin, FlaskForm):
    phone = TelField(
        _l("Phone number"),
        validators=[DataRequired(_l("Enter your phone number.")), valid_phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    password = new_password_field(_l("Password"))
    confirm = repeat_password_field(_l("Repeat the password"), "password")
    #: Its own box, unticked: consent under Law 91/2025 is a separate, clear choice.
    consent = consent_field()


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    pass


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password or one-time code"),
        render_kw={"autocomplete": "current-password"},
    )
    new_password = new_password_field(_l("New password"))
    confirm = repeat_password_field(_l("Repeat the new password"), "new_password")


class ActivateForm(FlaskForm):
    """First login of an imported trainee, or after a reset: phone, the printed code, a new password."""

    phone = TelField(
        _l("Phone number"),
        validators=[DataRequired(_l("Enter your phone number.")), valid_phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    # A visible text field with a number pad, not a password field: the code is read off
    # paper, and people must see what they typed. Spaces and dashes are dropped.
    code = StringField(
        _l("Code on your slip"),
        filters=[normalize_code],
        validators=[
            DataRequired(_l("Type the code printed on your slip.")),
            Regexp(rf"^\d{{{ONE_TIME_CODE_DIGITS}}}$",
                   message=_l("The code has 8 digits, for example 1234 5678.")),
        ],
        description=_l("8 digits. Spaces and dashes do not matter."),
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "autocapitalize": "off",
                   "spellcheck": "false", "maxlength": 24, "placeholder": "1234 5678"},
    )
    password = new_password_field(_l("Choose your own password"))
    confirm = repeat_password_field(_l("Repeat the password"), "password")
    consent = consent_field()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PlacesAnsweredForMixin:
    """A whole province and communes (one per line, as people write them) that an official or organizer answers for."""

    answers_for_province = SelectField(_l("Whole province answered for"), coerce=int, validate_choice=False)
    answers_for_communes = TextAreaField(
        _l("Communes answered for"),
        filters=[strip_lines],
        description=_l("For an official or an organizer of some communes: one commune per line, e.g. Xã Chuyên Mỹ. "
                       "Leave both empty for an organizer of the whole programme."),
        render_kw={"rows": 3},
    )

    def fill_answer_choices(self, places=()):
        """Offer the provinces; on a first showing, fill in the places the person already answers for."""
        self.answers_for_province.choices = [SelectChoice(0, _l("— None —"))] + [
            SelectChoice(code, name) for code, name in provinces()]
        if self.answers_for_province.data is None:
            self.answers_for_province.data = next((p.province_code for p in places if p.province_code), 0)
        if self.answers_for_communes.data is None and places:
            self.answers_for_communes.data = "\n".join(
                get_commune(p.commune_code).full_name for p in places if p.commune_code and get_commune(p.commune_code))

    def check_places(self, roles: set[str]) -> bool:
        """Resolve each commune line to its code and check the places fit the roles; return False and say why if not."""
        from lms.accounts.services import UnknownPlace, resolve_commune

        self.commune_codes, problems = [], []
        for line in (self.answers_for_communes.data or "").splitlines():
            if line.strip():
                try:
                    self.commune_codes.append(resolve_commune(line))
                except UnknownPlace as exc:
                    problems.append(str(exc))
        self.province_codes = [self.answers_for_province.data] if self.answers_for_province.data else []
        valid = not problems
        if self.province_codes and self.province_codes[0] not in dict(provinces()):
            self.answers_for_province.errors = [*self.answers_for_province.errors, _l("Choose a province from the list.")]
            valid = False
        self.answers_for_communes.errors = [*self.answers_for_communes.errors, *problems]
        placed = bool(self.commune_codes or self.province_codes)
        if Role.OFFICIAL.value in roles and not placed and not problems:
            self.answers_for_communes.errors.append(_l("An official answers for at least one commune or a province."))
            valid = False
        elif placed and not roles & {Role.OFFICIAL.value, Role.ORGANIZER.value}:
            self.answers_for_communes.errors.append(_l("Only officials and organizers answer for places."))
            valid = False
        return valid


class StaffForm(PlacesAnsweredForMixin, ProfileFieldsMixin, FlaskForm):
    commune_required = False
    phone = TelField(
        _l("Phone number"),
        validators=[DataRequired(_l("Enter the phone number.")), valid_phone],
        render_kw={"inputmode": "tel"},
    )
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=Role.choices,
        validators=[DataRequired(_l("Choose at least one role."))],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self.check_places(set(self.roles.data or ())) and valid


class StaffPlacesForm(PlacesAnsweredForMixin, FlaskForm):
    """The places an existing official or organizer answers for."""

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.held_roles = {r.value for r in roles}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self.check_places(self.held_roles) and valid


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token, for buttons that change something."""


class ConfirmActionForm(FlaskForm):
    """The form of a confirmation page: its CSRF token and ``confirm=yes``, which only that page sends.

    A destructive action runs only when this validates, so a bare POST (an old button, a double
    tap, a forged form) lands on the confirmation page instead of doing anything.
    """

    confirm = HiddenField(validators=[AnyOf(["yes"], message=_l("Confirm on the confirmation page."))])
