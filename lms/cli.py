"""The `lms` command: Flask's CLI for this app, with the commands each package adds in the factory."""

import click
from flask.cli import FlaskGroup


def _create_app():
    from lms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main():
    """Làng Số: manage and serve the learning platform."""


if __name__ == "__main__":
    main()
