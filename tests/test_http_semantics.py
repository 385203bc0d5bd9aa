"""HTTP semantics FastAPI leaves out (issue 12, item 9): HEAD on GET routes, 204s without a
body's headers, refusals as problem documents."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.factories.accounts import signup


class TestHead:
    @pytest.mark.parametrize("path", ["/healthz", "/v1/plans", "/v1/permissions", "/openapi.json"])
    async def test_a_get_route_answers_head_with_the_headers_and_no_body(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        got = await client.get(path)
        head = await client.head(path)
        assert head.status_code == got.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]

    async def test_head_is_authorized_like_get(self, client: httpx.AsyncClient) -> None:
        assert (await client.head("/v1/auth/me")).status_code == 401
        account = await signup(client)
        head = await client.head("/v1/auth/me", headers=account.headers)
        assert head.status_code == 200
        assert head.content == b""

    async def test_every_get_route_takes_head(self, app: FastAPI) -> None:
        # Routed as GET: no route answers 405 to HEAD where it answers GET.
        gets = [r for r in app.routes if isinstance(r, APIRoute) and "GET" in r.methods]
        assert gets
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            for route in gets:
                path = route.path.replace("{", "").replace("}", "")  # any value: 4xx, not 405
                get, head = await http.get(path), await http.head(path)
                assert head.status_code == get.status_code, route.path
                assert head.content == b"", route.path

    async def test_head_on_a_post_only_route_is_405(self, client: httpx.AsyncClient) -> None:
        response = await client.head("/v1/auth/login")
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"


class TestNoContent:
    async def test_a_204_has_neither_content_type_nor_length(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        response = await client.post("/v1/auth/logout", json={"refreshToken": account.refresh})
        assert response.status_code == 204
        assert "content-type" not in response.headers
        assert "content-length" not in response.headers
        assert response.content == b""
        assert response.headers["x-request-id"]


class TestCorsRefusal:
    async def test_a_refused_preflight_is_a_problem_document(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.options(
            "/v1/auth/me",
            headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "cors_refused"
        assert "origin" in body["detail"]
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers
        assert "Origin" in response.headers["vary"]

    async def test_an_allowed_preflight_is_unchanged(self, client: httpx.AsyncClient) -> None:
        response = await client.options(
            "/v1/auth/me",
            headers={
                "origin": "http://127.0.0.1:5173",
                "access-control-request-method": "GET",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
