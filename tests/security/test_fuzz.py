"""Schemathesis against the real app (WSGI) with a real token: no 5xx, every answer as documented.

Bounded and deterministic for CI: a fixed number of derandomised examples per operation and
mode, no example database, no shrinking. Rate limits are off here (they are tested elsewhere).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from tests.factories import challenge_body
from tests.security.conftest import Site

# Fuzzed requests start imports and matching runs (their heartbeat threads).
pytestmark = pytest.mark.committed

EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _prepare(case: Any) -> None:
    if case.path == "/api/v1/matching/runs" and isinstance(case.body, dict):
        case.body["wait"] = True  # no background thread outlives the test
        if isinstance(case.body.get("k"), int):
            case.body["k"] = min(case.body["k"], 3)


@pytest.mark.settings(rate_limit_api="", rate_limit_writes="", rate_limit_auth_failures="")
@pytest.mark.parametrize("role", ["admin", "company_a", "group"])
def test_api_holds_its_schema_under_fuzzing(site: Site, role: str) -> None:
    assert site.api("company_a").post("/api/v1/challenges", challenge_body()).status_code == 201
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", site.app)
    headers = {"Authorization": f"Bearer {site.tokens[role]}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @BOUNDED
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                _prepare(case)
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # one failing operation must not hide the others
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
