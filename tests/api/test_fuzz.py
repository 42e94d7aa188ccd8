"""Property-based API test: schemathesis (as a library) over every operation of the OpenAPI schema.

With a valid API key, each operation gets generated inputs; no answer may be a 5xx, and every answer must
conform to what the schema documents (status codes, content types, bodies). Fixed seed, bounded examples.
It runs on the test database of the suite: SQLite, or PostgreSQL when AEW_TEST_DATABASE_URL names one.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 20
SEED = 20260418


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from a throwaway app (the schema needs no database)."""
    from service.app import create_app
    from service.settings import Settings
    app = create_app(Settings(database_url="sqlite://", log_json=False, secret_key="x" * 32),
                     run_background=False, scanner_factory=lambda: None)
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops]


@pytest.mark.parametrize("method, path", _operations())
def test_api_never_answers_5xx_and_keeps_its_contract(app, auth, method, path):
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @seed(SEED)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=auth, checks=CHECKS)

    check()
