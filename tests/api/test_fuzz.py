"""The schema fuzzer (issue 9, "What must be shown"): schemathesis generates requests for every
operation of the OpenAPI document and sends them to a real `relay server` on 127.0.0.1 as the
platform admin (so the calls get past authentication into the handlers), a bounded and
derandomized number per operation. No answer may be a server error, every answer must match
the schema its operation declares for that status, and every error body is the ErrorBody.

The `project` path parameter always names a real project, so project-scoped operations reach
their validation and work rather than stopping at "no such project".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from relayml.testing.server import ServerInfo, running_server
from tests.conftest import _scratch_database

PROJECT = "fuzz"
EXAMPLES = 6
"""Generated requests per operation (at most): about 450 per database."""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerInfo]:
    with contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgres":  # a database of its own, as every other server's
            base = request.getfixturevalue("pg_database")
            url = stack.enter_context(_scratch_database(base, "relay_fuzz"))
        home = tmp_path_factory.mktemp(f"fuzz-{request.param}")
        info = stack.enter_context(running_server(home, database_url=url))
        headers = {"Authorization": f"Bearer {info.admin_token}"}
        r = httpx.post(f"{info.url}/api/v1/projects", json={"name": PROJECT}, headers=headers)
        assert r.status_code == 201, r.text
        yield info


@pytest.fixture(scope="module")
def api(fuzz_server: ServerInfo) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


@pytest.fixture(scope="module")
def error_schema(api: Any) -> dict[str, Any]:
    raw = api.raw_schema
    return {**raw["components"]["schemas"]["ErrorBody"], "components": raw["components"]}


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_no_server_error_and_every_answer_matches_its_schema(
    api: Any, fuzz_server: ServerInfo, error_schema: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {fuzz_server.admin_token}"}
    calls = 0

    def check(case: Any) -> None:
        nonlocal calls
        if case.path_parameters and "project" in case.path_parameters:
            case.path_parameters["project"] = PROJECT
        response = case.call(base_url=fuzz_server.url, headers=headers, timeout=60)
        calls += 1
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
        if response.status_code >= 400:
            jsonschema.validate(response.json(), error_schema)
        case.validate_response(response, checks=[response_schema_conformance])

    for result in api.get_all_operations():
        operation = result.ok()
        FUZZ(given(case=operation.as_strategy())(check))()
    assert calls >= len(api.raw_schema["paths"])


def test_the_fuzzer_covers_every_operation(api: Any) -> None:
    """Nothing is left out of the fuzz by a filter: every operation is generated for."""
    served = {(m.upper(), p) for p, ops in api.raw_schema["paths"].items() for m in ops}
    operations = {(r.ok().method.upper(), r.ok().path) for r in api.get_all_operations()}
    assert operations == served


def test_error_bodies_are_checked(fuzz_server: ServerInfo, error_schema: dict[str, Any]) -> None:
    """The ErrorBody check is a real one: an error answer passes it, anything else fails it."""
    r = httpx.get(f"{fuzz_server.url}/api/v1/runs/0")
    assert r.status_code == 401
    jsonschema.validate(r.json(), error_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": "not found"}, error_schema)
