"""Leads through the public API, and what the database holds of them (read as its owner)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.factories.accounts import Account


async def create_lead(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    """POST /v1/leads with `fields` (camelCase, as on the wire; `name` defaults); the 201 body."""
    body = {"name": "Al Amal Trading", **fields}
    response = await client.post("/v1/leads", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def lead_count(owner: asyncpg.Connection, account: Account) -> int:
    """Every leads row of the account's tenant, whatever its state (RLS does not apply)."""
    return int(
        await owner.fetchval(
            "SELECT count(*) FROM leads WHERE tenant_id = $1::uuid", account.tenant_id
        )
    )


async def key_count(owner: asyncpg.Connection, account: Account) -> int:
    return int(
        await owner.fetchval(
            "SELECT count(*) FROM lead_keys WHERE tenant_id = $1::uuid", account.tenant_id
        )
    )


async def stored(owner: asyncpg.Connection, lead_id: str) -> asyncpg.Record:
    """The leads row itself, derived columns included."""
    row = await owner.fetchrow("SELECT * FROM leads WHERE id = $1::uuid", lead_id)
    assert row is not None
    return row


async def timeline(
    client: httpx.AsyncClient, account: Account, lead_id: str
) -> list[dict[str, Any]]:
    """The lead's activities, newest first (one page of up to 100)."""
    response = await client.get(
        f"/v1/leads/{lead_id}/activities", params={"limit": 100}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def audit_rows(
    client: httpx.AsyncClient, account: Account, lead_id: str
) -> list[dict[str, Any]]:
    """The audit log entries about one lead (the account must hold audit:read)."""
    response = await client.get(
        "/v1/audit-logs", params={"entityType": "lead", "limit": 100}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    return [row for row in response.json()["items"] if row["entityId"] == lead_id]
