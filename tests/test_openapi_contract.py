"""The OpenAPI document is the front end's contract: names that read well in generated clients,
and the copy committed under clients/typescript/ matches what the code serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leedz.cli import OPENAPI_PATH, app, openapi_document

ROOT = Path(__file__).resolve().parents[1]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OPS_PATHS = {"/healthz", "/readyz", "/metrics"}
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*$")
TAG = re.compile(r"^[a-z]+(-[a-z]+)*$")

# Known deviations waiting for a fix in the endpoints; this list only shrinks (a test below fails
# once an entry is no longer needed).
KNOWN_MULTI_TAGGED: set[str] = set()
KNOWN_BAD_TAGS: set[str] = set()


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(openapi_document())
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_operation_ids_are_unique_camel_case(spec: dict[str, Any]) -> None:
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]
    assert all(isinstance(i, str) for i in ids), "every operation has an operationId"
    assert len(ids) == len(set(ids)), "operationIds are unique"
    bad = [i for i in ids if not OPERATION_ID.match(str(i))]
    assert bad == [], "operationIds are camelCase (createJob, not create_job_v1_jobs_post)"


def test_the_names_clients_use(spec: dict[str, Any]) -> None:
    ids = {(method, path): operation["operationId"] for path, method, operation in operations(spec)}
    assert ids[("post", "/v1/auth/signup")] == "signup"
    assert ids[("post", "/v1/jobs")] == "createJob"
    assert ids[("get", "/v1/jobs")] == "listJobs"
    assert ids[("get", "/v1/jobs/{job_id}")] == "getJob"
    assert ids[("post", "/v1/agent/jobs/claim")] == "claimJob"
    assert ids[("get", "/readyz")] == "readyz"


def test_every_operation_has_one_short_tag(spec: dict[str, Any]) -> None:
    multi = {
        operation["operationId"]
        for _, _, operation in operations(spec)
        if len(operation.get("tags", [])) != 1
    }
    assert multi == KNOWN_MULTI_TAGGED
    tags = {tag for _, _, operation in operations(spec) for tag in operation.get("tags", [])}
    assert {tag for tag in tags if not TAG.match(tag)} == KNOWN_BAD_TAGS


def test_paths_are_versioned_or_ops(spec: dict[str, Any]) -> None:
    stray = [p for p in spec["paths"] if not p.startswith("/v1/") and p not in OPS_PATHS]
    assert stray == []


def test_the_document_is_deterministic() -> None:
    first = openapi_document()
    assert first.endswith("}\n")
    assert openapi_document() == first


def test_the_committed_document_is_current() -> None:
    """Drift check (scripts/check-ts-client.sh also regenerates the TypeScript types)."""
    result = CliRunner().invoke(app, ["openapi", "-"])
    assert result.exit_code == 0, result.output
    committed = (ROOT / OPENAPI_PATH).read_text(encoding="utf-8")
    assert result.stdout == committed, (
        "clients/typescript/openapi.json is stale: run scripts/check-ts-client.sh and commit"
    )


def test_openapi_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "openapi.json"
    result = CliRunner().invoke(app, ["openapi", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == openapi_document()


def test_validation_errors_are_documented_as_problems(spec: dict[str, Any]) -> None:
    # Found by the fuzzer (tests/e2e/test_fuzz.py): every 422 was documented as FastAPI's
    # `application/json` HTTPValidationError while the server answers problem+json.
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    documented = [
        (method, path)
        for path, method, operation in operations(spec)
        if "422" in operation["responses"]
    ]
    assert documented
    for path, method, operation in operations(spec):
        if "422" in operation["responses"]:
            assert operation["responses"]["422"]["content"] == problem, (method, path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "code" in spec["components"]["schemas"]["Problem"]["required"]


def test_metrics_are_documented_as_text(spec: dict[str, Any]) -> None:
    # Found by the fuzzer: /metrics was documented as JSON; it serves the Prometheus text format.
    content = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]
