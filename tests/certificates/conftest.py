"""Fixtures for certificates: the blueprint, CLI group and jobs on the test app (until the factory registers them)."""

import pytest

import lms.certificates.models  # noqa: F401 - the tables exist before the test schema is built
import lms.certificates.tasks  # noqa: F401


@pytest.fixture(autouse=True)
def certificates_app(app):
    """Register what the app factory will register, and a generous verification limit."""
    from lms.certificates.commands import certificates_group
    from lms.certificates.views import bp

    if "certificates" not in app.blueprints:
        app.register_blueprint(bp)
    if "certificates" not in app.cli.commands:
        app.cli.add_command(certificates_group)
    app.config["CERTIFICATE_VERIFY_LIMIT"] = "10000 per minute"
    return app
