"""`lms seed demo`: the demo courses, classes and accounts."""

import click
from flask.cli import with_appcontext


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

    from lms.core.extensions import db
    from lms.demo import DEMO_ACCOUNTS_TABLE, load_demo

    started = time.perf_counter()
    report = load_demo(extra_trainees=trainees, random_seed=random_seed)
    db.session.commit()
    click.echo(f"Demo loaded in {time.perf_counter() - started:.1f} s: {report.summary()}")
    click.echo("Demo accounts (password demo12345):")
    for phone, role in DEMO_ACCOUNTS_TABLE:
        click.echo(f"  {phone}  {role}")
