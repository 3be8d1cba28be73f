"""The `lms` command: Flask's CLI for this app plus the project's own commands."""

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from lms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main():
    """Làng Số: manage and serve the learning platform."""


@click.group("users")
def users_group():
    """Manage accounts."""


@users_group.command("create")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["trainee", "instructor", "organizer", "admin"]),
              help="Repeat for several roles.")
@click.option("--phone", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--password", default=None, help="Prompted for when left out.")
@with_appcontext
def create_user_command(roles, phone, full_name, password):
    """Create an account with one or more roles."""
    from lms.accounts import services
    from lms.accounts.forms import foreign_phone_text
    from lms.accounts.models import Role
    from lms.core.extensions import db
    from lms.core.text import ForeignPhoneNumber, InvalidPhoneNumber

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
    db.session.commit()
    click.echo(f"Created user {user.id} ({', '.join(sorted(r.value for r in user.roles))}) {user.phone}")


@click.group("seed")
def seed_group():
    """Load demo data."""


@seed_group.command("demo")
@click.option("--trainees", default=0, show_default=True, help="Extra generated trainees.")
@click.option("--random-seed", default=2026, show_default=True, help="Same seed, same people.")
@with_appcontext
def seed_demo_command(trainees, random_seed):
    """Load the demo courses, communes and accounts (idempotent)."""
    import time

    from lms import demo
    from lms.core.extensions import db

    started = time.perf_counter()
    report = demo.load_demo(extra_trainees=trainees, random_seed=random_seed)
    db.session.commit()
    click.echo(f"Demo loaded in {time.perf_counter() - started:.1f} s: {report.summary()}")
    click.echo("Demo accounts (password demo12345):")
    for phone, role in demo.DEMO_ACCOUNTS_TABLE:
        click.echo(f"  {phone}  {role}")


@click.command("worker")
@click.option("--workers", default=2, show_default=True)
@with_appcontext
def worker_command(workers):
    """Run the background job consumer."""
    import logging

    from lms.core.jobs import huey

    logging.basicConfig(level=current_app.config["LOG_LEVEL"], format="%(asctime)s %(name)s %(levelname)s %(message)s")
    consumer = huey.create_consumer(workers=workers, worker_type="thread")
    click.echo(f"Worker started ({workers} threads, {type(huey.storage).__name__}).")
    consumer.run()


if __name__ == "__main__":
    main()
