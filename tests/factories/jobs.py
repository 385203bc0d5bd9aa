"""A tenant with one user and one job, written as the owner (RLS is not in the way)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class TenantJob:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    job_id: uuid.UUID


async def create_tenant_with_job(
    conn: asyncpg.Connection, label: str, *, job_type: str = "SEARCH"
) -> TenantJob:
    tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO tenants (id, name, slug, plan_id)"
        " VALUES ($1, $2, $3, (SELECT id FROM plans WHERE name = 'FREE'))",
        tenant_id,
        f"Tenant {label}",
        f"tenant-{label}-{tenant_id.hex[:8]}",
    )
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', $3)",
        user_id,
        f"{label}-{user_id.hex[:8]}@example.com",
        f"User {label}",
    )
    await conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'OWNER')",
        tenant_id,
        user_id,
    )
    job_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO jobs (tenant_id, type, input, created_by_id)"
        ' VALUES ($1, $2, \'{"query": "q", "maxResults": 5}\', $3) RETURNING id',
        tenant_id,
        job_type,
        user_id,
    )
    return TenantJob(tenant_id=tenant_id, user_id=user_id, job_id=job_id)
