"""The JSON API against its own contract: the live /api/v1/openapi.json is a valid OpenAPI document, and
schemathesis, sending what that document allows as the logged-in demo trainee (session cookie and
X-CSRFToken), never gets a server error nor an answer the document does not describe."""

import json
import os
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.crawl import log_in

pytestmark = pytest.mark.e2e

SPEC_PATH = "/api/v1/openapi.json"
#: Examples per API operation (override: SCHEMATHESIS_MAX_EXAMPLES).
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
#: What every case ran, for the closing figures (test-artifacts/schemathesis-report.json).
RUN = {"cases": 0, "by_operation": {}, "failures": []}


@pytest.fixture(scope="module")
def trainee_session(demo_site):
    """A requests session logged in as the demo trainee through the login form, and its CSRF token."""
    session = requests.Session()
    log_in(session, demo_site.base_url, demo_site.accounts["trainee"], demo_site.password)
    page = session.get(demo_site.base_url + "/learn", timeout=30).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token, "no csrf-token meta on /learn"
    yield session, token.group(1)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "schemathesis-report.json").write_text(json.dumps(RUN, ensure_ascii=False, indent=1))


def test_the_openapi_document_is_valid(demo_site):
    spec = requests.get(demo_site.base_url + SPEC_PATH, timeout=30).json()
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
              for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    try:
        validate(spec)
    except OpenAPIValidationError as exc:
        errors.append(f"validate(): {exc}")
    assert not errors, f"{len(errors)} problems in {SPEC_PATH}:\n" + "\n".join(errors[:30])


@pytest.fixture
def api_schema(demo_site):
    return schemathesis.openapi.from_url(demo_site.base_url + SPEC_PATH)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_the_api_keeps_its_contract(case, demo_site, trainee_session):
    session, token = trainee_session
    name = f"{case.method} {case.path}"
    RUN["cases"] += 1
    RUN["by_operation"][name] = RUN["by_operation"].get(name, 0) + 1
    response = case.call(base_url=demo_site.base_url, session=session, headers={"X-CSRFToken": token})
    try:
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    except AssertionError as exc:
        RUN["failures"].append(f"{name} → {response.status_code}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
        raise
