"""Schemathesis against the OpenAPI document that create_app() serves.

A bounded number of generated requests per operation, once with a valid admin token and
once without. Every answer: no 5xx, the documented schema when it is a documented
success, and a refusal (4xx) that is an RFC 9457 problem naming what was wrong (for 422:
each error's field and reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from firebreak.api.app import create_app
from firebreak.runtime import Runtime
from spine.shared import BOOT_TOKEN, LiveServer, make_settings

ADMIN = {"Authorization": f"Bearer {BOOT_TOKEN}"}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: Any) -> Iterator[Any]:
    """The app with every stage, served on loopback; its schema as served."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    cfg = make_settings(f"sqlite:///{db}", api={"rate_limit_per_second": 0})
    runtime = Runtime.open(cfg)
    with LiveServer(create_app(cfg, runtime=runtime)) as server:
        yield schemathesis.openapi.from_url(server.url + "/openapi.json")


def operations(schema: Any) -> list[Any]:
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) > 25
    return ops


def assert_refusal_is_explained(response: Any) -> None:
    """A 4xx is a problem document that says what was wrong."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert body.get("title") and body.get("status") == response.status_code, body
    assert body.get("detail"), body
    if response.status_code == 422:
        errors = body.get("errors")
        assert errors and all(e.get("field") and e.get("reason") for e in errors), body


def fuzz(operation: Any, examples: int, check: Any) -> None:
    @given(operation.as_strategy())
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        check(case)

    run()


def test_with_an_admin_token(api_schema: Any) -> None:
    def check(case: Any) -> None:
        response = case.call(headers=ADMIN, timeout=30)
        where = f"{case.method} {case.formatted_path}"
        assert response.status_code < 500, f"{where}: {response.text[:300]}"
        case.validate_response(response, checks=[not_a_server_error,
                                                 response_schema_conformance])
        assert_refusal_is_explained(response)

    for operation in operations(api_schema):
        fuzz(operation, 10, check)


def test_without_a_token(api_schema: Any) -> None:
    open_paths = ("/healthz", "/v1/runs/{run_id}/steps/{step_id}/link")

    def check(case: Any) -> None:
        response = case.call(timeout=30)
        assert response.status_code < 500
        if case.path not in open_paths:
            assert response.status_code == 401, f"{case.method} {case.path}"
        assert_refusal_is_explained(response)

    for operation in operations(api_schema):
        fuzz(operation, 1, check)
