"""The JSON API against its own contract: the live /api/v1/openapi.json is a valid OpenAPI document, and
schemathesis, sending what that document allows as the logged-in demo trainee (session cookie and
X-CSRFToken), never gets a server error nor an answer the document does not describe."""

import json
import os
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from schemathesis import GenerationMode
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
    validator = OpenAPIV31SpecValidator if spec.get("openapi", "").startswith("3.1") else OpenAPIV30SpecValidator
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
              for e in validator(spec).iter_errors()]
    assert not errors, f"{len(errors)} problems in {SPEC_PATH}:\n" + "\n".join(errors[:30])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_the_api_keeps_its_contract(demo_site, trainee_session, mode):
    """Every operation, with data the document allows (valid) and data it forbids (invalid): never a 5xx,
    and every answer is one the document describes."""
    # schemathesis.pytest.from_fixture() needs pytest's private Node._nodeid, gone in pytest 9: drive each
    # operation's strategy with Hypothesis directly instead.
    session, token = trainee_session
    schema = schemathesis.openapi.from_url(demo_site.base_url + SPEC_PATH)
    failures, ran = [], 0
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception as exc:  # noqa: BLE001 - an operation the document does not let us build is a finding
            failures.append(f"cannot build an operation: {str(exc).splitlines()[0]}")
            continue
        name = f"{operation.method.upper()} {operation.path}"
        seen, exc = _fuzz(operation, mode, lambda case: case.call(
            base_url=demo_site.base_url, session=session, headers={"X-CSRFToken": token}))
        if exc is not None:
            case, response = seen[-1] if seen else (None, None)
            failures.append(f"{name} → HTTP {getattr(response, 'status_code', '?')}: {_titles(exc)}"
                            + (f"\n    {case.as_curl_command(base_url=demo_site.base_url)}" if case else ""))
        ran += len(seen)
        RUN["by_operation"][f"{mode.value} {name}"] = len(seen)
    RUN["cases"] += ran
    RUN["failures"].extend(f"{mode.value} {f}" for f in failures)
    assert ran, "schemathesis ran no case"
    assert not failures, f"{ran} cases ({mode.value} data), {len(failures)} operations failed:\n" + "\n".join(failures)


def _fuzz(operation, mode: GenerationMode, send):
    """Run Hypothesis over one operation; return the (case, response) pairs sent and the failure, if any."""
    seen = []

    # database=None: no .hypothesis/ folder left in the work tree.
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        response = send(case)
        seen.append((case, response))
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    try:
        call()
    except Unsatisfiable as exc:
        # An operation whose every input is allowed (no parameters, or any string) has no invalid case to send.
        if mode == GenerationMode.NEGATIVE and not seen:
            return seen, None
        return seen, exc
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation's failure is gathered
        return seen, exc
    return seen, None


def _titles(exc: BaseException) -> str:
    """One line per failed check: its title and the first line of its message."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    lines = []
    for part in parts:
        title = getattr(part, "title", type(part).__name__)
        message = (getattr(part, "message", None) or str(part)).strip().splitlines()
        lines.append(f"{title}: {message[0] if message else ''}")
    return "; ".join(dict.fromkeys(lines))
