"""Leads through the API, and the rows a merge touches read as the database owner."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from tests.factories.accounts import Account

TABLES = ("leads", "lead_keys", "list_members", "lead_activities", "lead_evidence")


async def new_lead(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/leads", json=fields, headers=account.headers)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()
    return lead


async def merge(
    client: httpx.AsyncClient, account: Account, survivor: str, *merged: str
) -> httpx.Response:
    return await client.post(
        f"/v1/leads/{survivor}/merge", json={"leadIds": list(merged)}, headers=account.headers
    )


async def undo(client: httpx.AsyncClient, account: Account, merge_id: str) -> httpx.Response:
    return await client.post(f"/v1/lead-merges/{merge_id}/undo", headers=account.headers)


async def rows(owner: asyncpg.Connection, lead_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the five tables that belongs to one of the leads, in a stable order."""
    ids = [uuid.UUID(i) for i in lead_ids]
    found: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        column = "id" if table == "leads" else "lead_id"
        records = await owner.fetch(
            f"SELECT to_jsonb(t) AS row FROM {table} t WHERE t.{column} = ANY($1::uuid[])",
            ids,
        )
        found[table] = sorted(
            (json.loads(r["row"]) for r in records), key=lambda r: json.dumps(r, sort_keys=True)
        )
    return found


async def new_list(owner: asyncpg.Connection, account: Account, name: str) -> uuid.UUID:
    list_id: uuid.UUID = await owner.fetchval(
        "INSERT INTO lists (tenant_id, name, kind) VALUES ($1::uuid, $2, 'STATIC') RETURNING id",
        account.tenant_id,
        name,
    )
    return list_id


async def add_to_list(
    owner: asyncpg.Connection, account: Account, list_id: uuid.UUID, lead_id: str, *, at: str
) -> None:
    await owner.execute(
        "INSERT INTO list_members (tenant_id, list_id, lead_id, added_by_id, added_at)"
        " VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5::timestamptz)",
        account.tenant_id,
        list_id,
        lead_id,
        account.user_id,
        datetime.fromisoformat(at),
    )


async def new_evidence(
    owner: asyncpg.Connection, account: Account, *, title: str, collected_at: str
) -> uuid.UUID:
    """An evidence item of a (new) job of the account's tenant."""
    job_id = await owner.fetchval(
        "INSERT INTO jobs (tenant_id, type, input, created_by_id)"
        " VALUES ($1::uuid, 'SEARCH', '{\"query\": \"q\"}', $2::uuid) RETURNING id",
        account.tenant_id,
        account.user_id,
    )
    evidence_id: uuid.UUID = await owner.fetchval(
        "INSERT INTO evidence (tenant_id, job_id, type, title, source, url, snippet, confidence,"
        " raw_data, hash, size_bytes, collected_at) VALUES ($1::uuid, $2, 'GOOGLE_MAPS_LISTING',"
        " $3, 'maps', 'https://maps.example.com/x', 'snippet', 'HIGH', '{\"rating\": 4.5}',"
        " $4, 10, $5) RETURNING id",
        account.tenant_id,
        job_id,
        title,
        uuid.uuid4().hex * 2,
        datetime.fromisoformat(collected_at),
    )
    return evidence_id


async def link_evidence(
    owner: asyncpg.Connection,
    account: Account,
    lead_id: str,
    evidence_id: uuid.UUID,
    fields: list[str],
) -> None:
    await owner.execute(
        "INSERT INTO lead_evidence (tenant_id, lead_id, evidence_id, fields)"
        " VALUES ($1::uuid, $2::uuid, $3, $4::text[])",
        account.tenant_id,
        lead_id,
        evidence_id,
        fields,
    )
