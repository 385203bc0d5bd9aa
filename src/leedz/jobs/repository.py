from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from leedz.kit.repository import TenantRepository

JOB_COLUMNS = (
    "id, type, status, progress, input, output, error, priority, attempts, agent_id,"
    " created_at, started_at, completed_at, quota_period, cancel_requested_at"
)


class Jobs(TenantRepository):
    async def insert(
        self,
        *,
        job_type: str,
        job_input: dict[str, Any],
        priority: int,
        created_by: UUID,
        quota_period: date | None,
    ) -> asyncpg.Record:
        return await self.fetchrow_one(
            "INSERT INTO jobs (tenant_id, type, input, priority, created_by_id, quota_period)"
            f" VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING {JOB_COLUMNS}",
            job_type,
            json.dumps(job_input),
            priority,
            created_by,
            quota_period,
        )

    async def get(self, job_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
        return await self.fetchrow(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2"
            + (" FOR UPDATE" if for_update else ""),
            job_id,
        )

    async def page(
        self,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None,
        status: str | None,
        job_type: str | None,
    ) -> list[asyncpg.Record]:
        """Newest first; `before` is the (created_at, id) of the last row already seen."""
        return await self.fetch(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1"
            " AND ($2::job_status IS NULL OR status = $2)"
            " AND ($3::job_type IS NULL OR type = $3)"
            " AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))"
            " ORDER BY created_at DESC, id DESC LIMIT $6",
            status,
            job_type,
            before[0] if before else None,
            before[1] if before else None,
            limit + 1,
        )

    async def cancel_pending(self, job_id: UUID) -> asyncpg.Record:
        return await self.fetchrow_one(
            "UPDATE jobs SET status = 'CANCELLED', completed_at = now(), updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {JOB_COLUMNS}",
            job_id,
        )

    async def request_cancel(self, job_id: UUID) -> asyncpg.Record:
        return await self.fetchrow_one(
            "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()),"
            f" updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {JOB_COLUMNS}",
            job_id,
        )

    async def evidence(self, job_id: UUID) -> list[asyncpg.Record]:
        return await self.fetch(
            "SELECT id, type, title, source, url, snippet, confidence, raw_data, hash,"
            " collected_at, created_at FROM evidence WHERE tenant_id = $1 AND job_id = $2"
            " ORDER BY collected_at, id",
            job_id,
        )


class UsageCounters(TenantRepository):
    async def add(self, period: date, *, searches: int = 0, messages: int = 0) -> asyncpg.Record:
        """Add to this period's counters (negative to release); returns the new totals."""
        return await self.fetchrow_one(
            "INSERT INTO usage_counters (tenant_id, period, searches, messages)"
            " VALUES ($1, $2, greatest($3, 0), greatest($4, 0))"
            " ON CONFLICT (tenant_id, period) DO UPDATE SET"
            " searches = greatest(usage_counters.searches + $3, 0),"
            " messages = greatest(usage_counters.messages + $4, 0), updated_at = now()"
            " RETURNING searches, messages",
            period,
            searches,
            messages,
        )
