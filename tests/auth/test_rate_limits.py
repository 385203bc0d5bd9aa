from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from leedz.app import create_app
from leedz.config import Settings
from tests.factories.accounts import signup, unique_email


@pytest.fixture
def app(settings: Settings, database_url: str) -> FastAPI:
    settings.rate_limit_login_email = "3/2 seconds"
    settings.rate_limit_login_ip = "100/minute"
    settings.rate_limit_invite_lookup = "4/2 seconds"
    return create_app(settings, database_url=database_url)


class TestRateLimits:
    async def test_login_per_email_is_limited_then_released(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        wrong = {"email": account.email, "password": "not the password"}
        statuses = [(await client.post("/v1/auth/login", json=wrong)).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        limited = await client.post("/v1/auth/login", json=wrong)
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        # Another email from the same client is not affected.
        other = await client.post(
            "/v1/auth/login", json={"email": unique_email(), "password": "whatever it is"}
        )
        assert other.status_code == 401
        await asyncio.sleep(2.1)
        released = await client.post(
            "/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        assert released.status_code == 200

    async def test_invite_lookup_is_limited_for_unknown_tokens_too(
        self, client: httpx.AsyncClient
    ) -> None:
        statuses = [
            (await client.post("/v1/invites/lookup", json={"token": f"lzi_{i}"})).status_code
            for i in range(5)
        ]
        assert statuses == [404, 404, 404, 404, 429]

    async def test_password_guessing_with_a_token_is_limited(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await signup(client)
        wrong = {"currentPassword": "a wrong guess", "newPassword": "some new passphrase"}
        statuses = [
            (
                await client.post("/v1/auth/password", json=wrong, headers=account.headers)
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
