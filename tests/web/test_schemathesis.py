"""The generated document, tried by a generated-request tester (schemathesis), for every role.

Each operation gets a bounded number of generated requests, positive and negative, sent to the
app; every answer must be documented (status, media type, schema) and never a 5xx. Then the
stateful phase follows the document's links (a message created, then read and proved).
A number's validity cannot be written as a JSON Schema, so "valid by the schema but refused"
(positive_data_acceptance) is the one check left out: such a number is a 422 by design.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from gateway.domain.consent import Source
from gateway.domain.proof import RECORDABLE
from gateway.settings import Settings
from tests.conftest import bearer

EXAMPLES = 12  # per operation and role: bounded, the suite stays well inside CI's budget
ROLES = ("admin", "front_desk", "auditor")
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Schemathesis probes with missing and forged tokens by design: were those counted as an
    attack, every later request would be a 429 and the run would test nothing else. The
    limit has its own tests (test_auth_rate_limit.py)."""
    return dataclasses.replace(settings, auth_failures_per_minute=1_000_000)


@pytest.fixture
def api_schema(app: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_for_every_role(
    api_schema: Any, tokens: dict[str, str], mode: GenerationMode
) -> None:
    failures, tried, answered = [], 0, Counter[int]()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        tried += 1

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @SETTINGS
        def each(case: Any) -> None:
            for role in ROLES:  # the same generated request, as each role sends it
                response = case.call_and_validate(
                    headers=bearer(tokens[role]), excluded_checks=[positive_data_acceptance]
                )
                answered[response.status_code // 100 * 100] += 1

        try:
            each()
        except hypothesis.errors.Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # nothing to get wrong: no parameters
        except Exception as exc:  # gather every operation's failures, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert tried >= 15
    assert not failures, "\n\n".join(failures)
    # Not a run of 401s: valid requests got answers and invalid ones were refused.
    if mode == GenerationMode.POSITIVE:
        assert answered[200] >= 50, answered
    else:
        assert answered[400] >= 100, answered


@pytest.mark.parametrize("role", ROLES)
def test_stateful_links(api_schema: Any, role: str, tokens: dict[str, str]) -> None:
    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": bearer(tokens[role])}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            # Auth enforcement is the per-operation test's (its token is explicit there);
            # here the token rides in the call's headers, which the check cannot tell apart.
            excluded = [positive_data_acceptance, ignored_auth]
            case.validate_response(response, excluded_checks=excluded, transport_kwargs=kwargs)

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=EXAMPLES,
            stateful_step_count=4,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_the_sources_the_document_offers_are_the_ones_staff_may_record(client: Any) -> None:
    document = client.get("/openapi.json").get_json()
    offered = document["components"]["schemas"]["NewEvent"]["properties"]["source"]["enum"]
    assert set(offered) == {s.value for s in RECORDABLE}
    assert Source.SMS_KEYWORD not in offered  # only the patient's own text records that
