"""The extension points are connected in one place, the factory: never by importing a module, never twice."""

import json
import os
import subprocess
import sys
from pathlib import Path

from lms import create_app
from lms.courses import hooks as courses
from lms.learning import hooks as learning
from lms.media import hooks as media
from tests.conftest import TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent

#: Prints the size of every registry, in a fresh interpreter.
SIZES = """
import json
from lms.accounts import hooks as accounts
from lms.audit import hooks as audit
from lms.core import jobs
from lms.courses import hooks as courses
from lms.learning import hooks as learning
from lms.media import hooks as media
print(json.dumps({
    "people scopes": len(accounts._people_scopes), "personal data": len(accounts._personal_data),
    "audit readers": len(audit._readers), "audit namers": len(audit._account_namers),
    "role labels": len(audit._role_labels),
    "view rules": len(courses._view_rules), "page context": len(courses._page_context),
    "media finders": len(courses._media_finders), "upload purposes": len(media._upload_purposes),
    "completion rules": len(learning._completion_rules), "completion listeners": len(learning._completion_listeners),
    "lesson panels": len(learning._panels), "home notices": len(learning._home_notices),
    "recoverers": sorted(jobs.recoverers()),
}))
"""

IMPORT_EVERYTHING = """
import importlib, pkgutil
import lms
for module in pkgutil.walk_packages(lms.__path__, "lms."):
    if module.name not in {"lms.wsgi"}:  # lms.wsgi is the one module that builds an app on import
        importlib.import_module(module.name)
"""

WORKER_APP = """
from lms.cli import _create_app
_create_app()  # what `lms worker` builds before its consumer runs any job
"""


def _sizes(prelude: str, tmp_path) -> dict:
    env = {**os.environ, "LMS_INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret-key"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", prelude + SIZES], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _connected() -> dict:
    return {name: len(registry) for name, registry in (
        ("view rules", courses._view_rules), ("page context", courses._page_context),
        ("media finders", courses._media_finders), ("upload purposes", media._upload_purposes),
        ("completion rules", learning._completion_rules), ("completion listeners", learning._completion_listeners),
        ("lesson panels", learning._panels), ("home notices", learning._home_notices))}


def test_importing_every_module_connects_nothing(tmp_path):
    sizes = _sizes(IMPORT_EVERYTHING, tmp_path)
    assert sizes.pop("recoverers") == []
    assert set(sizes.values()) == {0}, sizes


def test_the_worker_app_is_connected_like_the_site(tmp_path):
    sizes = _sizes(WORKER_APP, tmp_path)
    assert sizes.pop("recoverers") == ["attendance exports", "certificate batches", "media processing",
                                       "trainee imports"]
    assert sizes == {"people scopes": 2, "personal data": 8, "audit readers": 1, "audit namers": 1, "role labels": 1,
                     "view rules": 1, "page context": 1, "media finders": 1, "upload purposes": 4,
                     "completion rules": 1, "completion listeners": 1, "lesson panels": 2, "home notices": 3}


def test_creating_the_app_again_connects_nothing_twice(app, tmp_path):
    before = _connected()
    assert before["completion listeners"] == 1 and before["upload purposes"] == 4
    for _ in range(2):
        create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": str(tmp_path)})
    assert _connected() == before
