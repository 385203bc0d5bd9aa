from __future__ import annotations

import httpx

LISTED = "http://127.0.0.1:5173"
EXTENSION = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }


class TestCors:
    async def test_preflight_from_a_listed_origin_is_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.options("/v1/auth/login", headers=preflight(LISTED))
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == LISTED
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "POST" in response.headers["access-control-allow-methods"]

    async def test_preflight_from_a_listed_extension_is_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.options("/v1/auth/login", headers=preflight(EXTENSION))
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == EXTENSION

    async def test_preflight_from_another_origin_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        for origin in ("http://evil.example", "chrome-extension://someoneelse", "null"):
            response = await client.options("/v1/auth/login", headers=preflight(origin))
            assert response.status_code == 400
            assert "access-control-allow-origin" not in response.headers
            assert "access-control-allow-credentials" not in response.headers

    async def test_simple_request_gets_headers_only_for_listed_origins(
        self, client: httpx.AsyncClient
    ) -> None:
        allowed = await client.get("/healthz", headers={"origin": LISTED})
        other = await client.get("/healthz", headers={"origin": "http://evil.example"})
        assert allowed.headers["access-control-allow-origin"] == LISTED
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
        assert "access-control-allow-origin" not in other.headers
        assert "access-control-allow-credentials" not in other.headers

    async def test_errors_carry_cors_headers_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/missing", headers={"origin": LISTED})
        assert response.status_code == 404
        assert response.headers["access-control-allow-origin"] == LISTED

    async def test_answers_vary_on_origin_even_without_one(self, client: httpx.AsyncClient) -> None:
        plain = await client.get("/healthz")
        assert "origin" in plain.headers["vary"].lower()
        assert "access-control-allow-origin" not in plain.headers
