"""Bulk jobs run in-process (tests/support/work.py's InlineUnit) over leads written as raw rows,
and what the database then holds (read as its owner, past row-level security)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI

from leedz.access.roles import Role
from leedz.bulk import service as bulk
from leedz.jobs.models import JobType
from leedz.jobs.work import Cancelled
from leedz.kit.db import Tx
from tests.factories.accounts import Account
from tests.support.work import InlineUnit

Outcome = dict[str, Any] | Cancelled


async def raw_leads(
    owner: asyncpg.Connection,
    account: Account,
    count: int,
    *,
    city: str = "Riyadh",
    status: str = "NEW",
    owner_id: str | None = None,
    deleted: bool = False,
) -> list[str]:
    """`count` leads of `account`'s tenant, written directly (no quota, no keys)."""
    rows = await owner.fetch(
        "INSERT INTO leads (tenant_id, name, source_type, city, status, owner_id, deleted_at)"
        " SELECT $1::uuid, 'Lead ' || n, 'MANUAL', $3, $4::lead_status, $5::uuid,"
        " CASE WHEN $6 THEN now() - interval '1 hour' END"
        " FROM generate_series(1, $2) AS n RETURNING id",
        account.tenant_id,
        count,
        city,
        status,
        owner_id,
        deleted,
    )
    return [str(r["id"]) for r in rows]


def unit(
    app: FastAPI,
    account: Account,
    job_type: JobType,
    job_input: dict[str, Any],
    *,
    role: Role = Role.OWNER,
    **options: Any,
) -> InlineUnit:
    return InlineUnit(
        app.state.db,
        tenant_id=uuid.UUID(account.tenant_id),
        user_id=uuid.UUID(account.user_id),
        role=role,
        job_type=job_type,
        job_input=job_input,
        **options,
    )


async def run(the_unit: InlineUnit, *, batch_size: int = 2) -> Outcome:
    """The unit's job through the bulk service, `batch_size` leads a batch."""
    if the_unit.job.type is JobType.BULK_DELETE:
        return await bulk.delete(the_unit, batch_size=batch_size)
    return await bulk.update_status(the_unit, batch_size=batch_size)


class Killed(Exception):
    """The stand-in for a SIGKILL: the batch in flight never commits."""


class CrashingUnit(InlineUnit):
    """An InlineUnit whose `crash_in`-th batch dies after its work, before its commit."""

    def __init__(self, *args: Any, crash_in: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crash_in = crash_in

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Tx]:
        self._pending = None
        async with self.database.transaction(
            tenant_id=self.job.tenant_id, user_id=self.job.created_by_id
        ) as tx:
            yield tx
            if self.batches + 1 == self.crash_in:
                raise Killed
        self.batches += 1
        self._checkpoint = self._pending or self._checkpoint


async def states(owner: asyncpg.Connection, ids: list[str]) -> dict[str, asyncpg.Record]:
    rows = await owner.fetch(
        "SELECT id::text AS id, status::text AS status, version, deleted_at, edited_fields,"
        " updated_at FROM leads WHERE id = ANY($1::uuid[])",
        ids,
    )
    return {r["id"]: r for r in rows}


async def entries(owner: asyncpg.Connection, ids: list[str], kind: str) -> list[dict[str, Any]]:
    """The timeline entries of `kind` on these leads, oldest first (`details` decoded)."""
    rows = await owner.fetch(
        "SELECT lead_id::text AS lead_id, actor_user_id::text AS actor, details"
        " FROM lead_activities WHERE lead_id = ANY($1::uuid[]) AND type = $2::lead_activity_type"
        " ORDER BY created_at, id",
        ids,
        kind,
    )
    return [{**r, "details": json.loads(r["details"])} for r in rows]


async def audit_rows(owner: asyncpg.Connection, job_id: uuid.UUID) -> list[dict[str, Any]]:
    """The audit rows about the job (`details` decoded)."""
    rows = await owner.fetch(
        "SELECT event_type, user_id::text AS user_id, details FROM audit_logs"
        " WHERE entity_type = 'job' AND entity_id = $1",
        str(job_id),
    )
    return [{**r, "details": json.loads(r["details"])} for r in rows]
