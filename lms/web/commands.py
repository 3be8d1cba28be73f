"""`lms worker`: the background job consumer that runs beside the web server."""

import click
from flask import current_app
from flask.cli import with_appcontext


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
