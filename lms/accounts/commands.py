"""`lms users`: accounts made from the command line."""

import click
from flask.cli import with_appcontext


@click.group("users")
def users_group():
    """Manage accounts."""


@users_group.command("create")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["trainee", "instructor", "organizer", "admin", "official"]),
              help="Repeat for several roles.")
@click.option("--phone", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--password", default=None, help="Prompted for when left out.")
@click.option("--commune", "communes", multiple=True,
              help='A commune an official or organizer answers for, e.g. "Xã Chuyên Mỹ" (repeat for several).')
@click.option("--province", "provinces", multiple=True,
              help='A whole province an official or organizer answers for, e.g. "Hà Nội" (repeat for several).')
@with_appcontext
def create_user_command(roles, phone, full_name, password, communes, provinces):
    """Create an account with one or more roles; an official's or organizer's places with --commune/--province."""
    from lms.accounts import services
    from lms.accounts.forms import foreign_phone_text
    from lms.accounts.models import Role
    from lms.audit.models import AuditAction, AuditObject
    from lms.audit.services import record_event
    from lms.core.extensions import db
    from lms.core.text import ForeignPhoneNumber, InvalidPhoneNumber

    placed = {Role(r) for r in roles} & {Role.OFFICIAL, Role.ORGANIZER}
    if (communes or provinces) and not placed:
        raise click.UsageError("--commune and --province are for an official or an organizer.")
    if Role.OFFICIAL.value in roles and not (communes or provinces):
        raise click.UsageError("An official answers for places: give --commune (or --province).")
    try:
        commune_codes = [services.resolve_commune(text) for text in communes]
        province_codes = [services.resolve_province(text) for text in provinces]
    except services.UnknownPlace as exc:
        raise click.ClickException(str(exc)) from None
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(
            full_name=full_name, phone=phone, roles={Role(r) for r in roles}, password=password
        )
    except ForeignPhoneNumber as exc:
        raise click.ClickException(f"{phone}: {foreign_phone_text(exc)}") from None
    except InvalidPhoneNumber:
        raise click.ClickException(f"Not a Vietnamese phone number: {phone}") from None
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    services.set_staff_places(user, provinces=province_codes, communes=commune_codes)
    # Roles given from the command line are audited too, by no account: whoever ran the command.
    record_event(AuditAction.CHANGED_ROLES, None, subject_id=user.id, object_kind=AuditObject.ROLES,
                 object_ref=",".join(sorted(r.value for r in user.roles)))
    db.session.commit()
    click.echo(f"Created user {user.id} ({', '.join(sorted(r.value for r in user.roles))}) {user.phone}")
    for place in user.places:
        click.echo(f"  answers for {place.name}")
