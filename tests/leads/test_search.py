"""GET /v1/leads, /count, /fields: q and its normalization, filters, sorts, keyset cursors."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories.accounts import Account, signup


@pytest.fixture
async def boss(client: httpx.AsyncClient) -> Account:
    return await signup(client)


async def make(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/leads", json=fields, headers=who.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def found(
    client: httpx.AsyncClient, who: Account, params: dict[str, Any] | list[tuple[str, Any]]
) -> list[str]:
    response = await client.get("/v1/leads", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return [lead["name"] for lead in response.json()["items"]]


async def test_smoke(client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection) -> None:
    await make(client, boss, name="مؤسسة الأمل", phones=["0501234567"])
    await make(client, boss, name="Café Royal", emails=["info@royal.example"])
    assert await found(client, boss, {"q": "مؤسسه الامل"}) == ["مؤسسة الأمل"]
    assert await found(client, boss, {"q": "+966 50 123 4567"}) == ["مؤسسة الأمل"]
    assert await found(client, boss, {"q": "cafe"}) == ["Café Royal"]
    assert await found(client, boss, {}) == ["Café Royal", "مؤسسة الأمل"]
    count = await client.get("/v1/leads/count", headers=boss.headers)
    assert count.json() == {"count": 2}
    fields = await client.get("/v1/leads/fields", headers=boss.headers)
    assert fields.status_code == 200, fields.text
