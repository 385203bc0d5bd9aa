"""Every error a client can meet is problem+json with a stable code and the request id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from leedz.errors import Conflict, database_error
from tests.support.problems import DATABASE_FAILURES, database_failure

PROBLEM = "application/problem+json"


class Thing(BaseModel):
    name: str = Field(min_length=1)
    count: int


probe = APIRouter(prefix="/_probe")


@probe.post("/things")
async def create_thing(body: Thing) -> Thing:
    return body


@probe.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@probe.get("/conflict")
async def conflict() -> None:
    raise Conflict("That already exists", field="name")


@probe.get("/database/{kind}")
async def database_fails(kind: str) -> None:
    raise database_failure(kind)


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    app.include_router(probe)
    return app


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:leedz:problem:{code}"
    assert body["title"]
    assert body["detail"]
    assert body["requestId"] == response.headers["x-request-id"]
    return body


class TestProblemDetails:
    async def test_unknown_path_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")

    async def test_wrong_method_is_405(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.delete("/healthz"), 405, "method_not_allowed")

    async def test_invalid_body_is_422_with_field_errors(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(
            await client.post("/_probe/things", json={"name": "", "count": "many"}),
            422,
            "validation_error",
        )
        locations = {tuple(e["loc"]) for e in body["errors"]}
        assert ("body", "name") in locations
        assert ("body", "count") in locations

    async def test_422_is_what_the_openapi_document_says(self, client: httpx.AsyncClient) -> None:
        # Found by the fuzzer (tests/e2e/test_fuzz.py): the document said 422 was FastAPI's
        # `application/json` `{detail: [...]}`, which this app never sends.
        spec = (await client.get("/openapi.json")).json()
        documented = spec["paths"]["/_probe/things"]["post"]["responses"]["422"]["content"]
        response = await client.post("/_probe/things", json={"name": "", "count": "many"})
        body = assert_problem(response, 422, "validation_error")
        assert list(documented) == [PROBLEM]
        assert documented[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        schemas = spec["components"]["schemas"]
        assert set(schemas["Problem"]["required"]) <= set(body)
        assert all(set(schemas["ValidationError"]["required"]) <= set(e) for e in body["errors"])

    async def test_malformed_json_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/_probe/things",
            content=b'{"name": "x", ',
            headers={"content-type": "application/json"},
        )
        body = assert_problem(response, 422, "validation_error")
        assert "not valid JSON" in str(body["detail"])

    async def test_body_over_the_limit_is_413(self, client: httpx.AsyncClient) -> None:
        oversized = b'{"name": "' + b"x" * (64 * 1024) + b'", "count": 1}'
        response = await client.post(
            "/_probe/things", content=oversized, headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "payload_too_large")

    async def test_chunked_body_over_the_limit_is_413(self, client: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for _ in range(80):
                yield b"x" * 1024
            yield b'", "count": 1}'

        response = await client.post(
            "/_probe/things", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "payload_too_large")

    async def test_unexpected_exception_is_500_without_internals(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/_probe/boom")
        body = assert_problem(response, 500, "internal_error")
        assert "hunter2" not in response.text
        assert "Traceback" not in response.text
        assert "RuntimeError" not in response.text
        assert set(body) == {"type", "title", "status", "detail", "code", "requestId"}

    async def test_domain_errors_carry_their_extra_fields(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/_probe/conflict"), 409, "conflict")
        assert body["field"] == "name"


class TestDatabaseErrors:
    """One classifier (errors.database_error) answers for REST and sockets alike."""

    @pytest.mark.parametrize("kind", sorted(DATABASE_FAILURES))
    async def test_each_failure_has_its_status_and_code(
        self, client: httpx.AsyncClient, kind: str
    ) -> None:
        _, _, status, code = DATABASE_FAILURES[kind]
        body = assert_problem(await client.get(f"/_probe/database/{kind}"), status, code)
        assert set(body) == {"type", "title", "status", "detail", "code", "requestId"}

    @pytest.mark.parametrize("kind", sorted(DATABASE_FAILURES))
    def test_the_classifier_gives_the_same_answer(self, kind: str) -> None:
        _, _, status, code = DATABASE_FAILURES[kind]
        error = database_error(database_failure(kind))
        if code == "internal_error":  # not a database failure: a bug
            assert error is None
        else:
            assert error is not None
            assert (error.status, error.code) == (status, code)

    def test_anything_else_is_not_a_database_failure(self) -> None:
        for exc in (RuntimeError("x"), KeyError("x"), ValueError("x")):
            assert database_error(exc) is None


class TestRequestId:
    async def test_a_valid_client_request_id_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/missing", headers={"x-request-id": "client-abc-12345"})
        assert response.headers["x-request-id"] == "client-abc-12345"
        assert response.json()["requestId"] == "client-abc-12345"

    async def test_a_hostile_request_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"x-request-id": "bad id\twith junk"})
        assert response.headers["x-request-id"] != "bad id\twith junk"
        assert len(response.headers["x-request-id"]) == 32

    async def test_each_request_gets_its_own_id(self, client: httpx.AsyncClient) -> None:
        first = await client.get("/healthz")
        second = await client.get("/healthz")
        assert first.headers["x-request-id"] != second.headers["x-request-id"]
