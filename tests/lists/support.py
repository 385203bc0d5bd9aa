"""Leads and lists for the list tests: through the API where the path matters, as raw rows
(the owner connection) where only numbers do."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.factories.accounts import Account


async def lead(
    client: httpx.AsyncClient, account: Account, name: str = "مطعم البيك", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/leads", json={"name": name, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def raw_leads(
    owner: asyncpg.Connection, account: Account, count: int, *, owner_id: str | None = None
) -> list[str]:
    """`count` live MANUAL leads of `account`'s tenant, written directly (no quota, no keys)."""
    rows = await owner.fetch(
        "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
        " SELECT $1::uuid, 'Lead ' || n, 'MANUAL', $3::uuid FROM generate_series(1, $2) AS n"
        " RETURNING id",
        account.tenant_id,
        count,
        owner_id,
    )
    return [str(r["id"]) for r in rows]


async def new_list(
    client: httpx.AsyncClient,
    account: Account,
    name: str = "قائمة الرياض",
    *,
    kind: str = "STATIC",
    **fields: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/lists", json={"name": name, "kind": kind, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add(
    client: httpx.AsyncClient, account: Account, list_id: str, lead_ids: list[str]
) -> httpx.Response:
    return await client.post(
        f"/v1/lists/{list_id}/leads", json={"leadIds": lead_ids}, headers=account.headers
    )


async def remove(
    client: httpx.AsyncClient, account: Account, list_id: str, lead_ids: list[str]
) -> httpx.Response:
    return await client.request(
        "DELETE", f"/v1/lists/{list_id}/leads", json={"leadIds": lead_ids}, headers=account.headers
    )


async def lead_count(client: httpx.AsyncClient, account: Account, list_id: str) -> int:
    response = await client.get(f"/v1/lists/{list_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["leadCount"])


async def member_ids(owner: asyncpg.Connection, list_id: str) -> set[str]:
    rows = await owner.fetch(
        "SELECT lead_id FROM list_members WHERE list_id = $1::uuid", uuid.UUID(list_id)
    )
    return {str(r["lead_id"]) for r in rows}


async def own_leads_only(client: httpx.AsyncClient, boss: Account) -> None:
    """SALES members of `boss`'s tenant see only their own and unassigned leads."""
    response = await client.patch(
        "/v1/tenants/current",
        json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.text
