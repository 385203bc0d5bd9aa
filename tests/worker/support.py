"""What the worker's tests share: tenants and jobs written as the owner, and test handlers that
write real tenant rows (leads), batch by batch, so that exactly-once is observable."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from leedz.jobs.work import Cancelled, WorkUnit


@dataclass(frozen=True)
class Member:
    tenant_id: uuid.UUID
    user_id: uuid.UUID


async def create_tenant(conn: asyncpg.Connection, label: str, *, role: str = "OWNER") -> Member:
    tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO tenants (id, name, slug, plan_id)"
        " VALUES ($1, $2, $3, (SELECT id FROM plans WHERE name = 'PRO'))",
        tenant_id,
        f"Tenant {label}",
        f"tenant-{label}-{tenant_id.hex[:8]}",
    )
    await add_user(conn, tenant_id, label, role=role, user_id=user_id)
    return Member(tenant_id=tenant_id, user_id=user_id)


async def add_user(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    label: str,
    *,
    role: str,
    user_id: uuid.UUID | None = None,
) -> Member:
    user_id = user_id or uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', $3)",
        user_id,
        f"{label}-{user_id.hex[:8]}@example.com",
        f"User {label}",
    )
    await conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)",
        tenant_id,
        user_id,
        role,
    )
    return Member(tenant_id=tenant_id, user_id=user_id)


async def add_job(
    conn: asyncpg.Connection,
    member: Member,
    *,
    job_type: str = "BULK_STATUS_UPDATE",
    job_input: dict[str, Any] | None = None,
    max_attempts: int = 3,
    priority: int = 0,
) -> uuid.UUID:
    job_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO jobs (tenant_id, type, input, created_by_id, max_attempts, priority)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING id",
        member.tenant_id,
        job_type,
        json.dumps(job_input if job_input is not None else {"status": "WON"}),
        member.user_id,
        max_attempts,
        priority,
    )
    return job_id


JSON_COLUMNS = ("input", "output", "error", "checkpoint")


async def job_row(conn: asyncpg.Connection, job_id: uuid.UUID) -> dict[str, Any]:
    """The job as stored, its JSON columns decoded (the owner's connection has no codec)."""
    row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
    assert row is not None
    return {
        key: json.loads(value) if key in JSON_COLUMNS and value is not None else value
        for key, value in row.items()
    }


async def lead_names(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[str]:
    """Every lead's name in the tenant, with repeats, sorted (read as the owner)."""
    rows = await conn.fetch("SELECT name FROM leads WHERE tenant_id = $1 ORDER BY name", tenant_id)
    return [row["name"] for row in rows]


def expected_names(job_id: uuid.UUID, rows: int) -> list[str]:
    return sorted(f"{job_id.hex[:8]}-{i:04d}" for i in range(rows))


class LeadWriter:
    """A handler: `rows` leads named `<job>-<i>`, `per_batch` a batch, each batch sleeping
    `pause` seconds inside its transaction (so that a SIGKILL lands mid-batch), the checkpoint
    `{"next": i}`. It stops on a cancel request between batches, returning how far it got."""

    def __init__(self, *, rows: int, per_batch: int, pause: float = 0.0) -> None:
        self.rows = rows
        self.per_batch = per_batch
        self.pause = pause
        self.calls = 0

    async def __call__(self, unit: WorkUnit) -> dict[str, Any] | Cancelled:
        self.calls += 1
        start = (unit.checkpoint or {}).get("next", 0)
        done = start
        while done < self.rows:
            if unit.cancel_requested:
                return Cancelled({"written": done})
            async with unit.batch() as tx:
                if _cancelled(unit):  # read again by the batch's first statement
                    break
                end = min(done + self.per_batch, self.rows)
                await tx.raw.executemany(
                    "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
                    " VALUES ($1, $2, 'IMPORT', $3)",
                    [
                        (unit.job.tenant_id, f"{unit.job.id.hex[:8]}-{i:04d}", unit.actor.user_id)
                        for i in range(done, end)
                    ],
                )
                if self.pause:
                    await asyncio.sleep(self.pause)
                unit.save(tx, checkpoint={"next": end}, progress=end * 100 // self.rows)
            done = end
        if done < self.rows:
            return Cancelled({"written": done})
        return {"written": done, "resumedAt": start}


def _cancelled(unit: WorkUnit) -> bool:
    return unit.cancel_requested
