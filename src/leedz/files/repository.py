"""SQL of stored files. `Files` runs as the request role in one tenant (`$1`); `expired_batch`
and `delete_rows` run as the purger role, across tenants, which sees nothing but expired files
(migration 20261201_1820)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self
from uuid import UUID

import asyncpg

from leedz.files.models import FilePurpose
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository

FILE_COLUMNS = (
    "id, tenant_id, name, size, sha256, purpose, content_type, format, storage_key,"
    " created_by_id, expires_at, last_used_at, detected, created_at"
)


@dataclass(frozen=True, slots=True)
class FileRow:
    id: UUID
    tenant_id: UUID
    name: str
    size: int
    sha256: str
    purpose: FilePurpose
    content_type: str
    format: str | None
    storage_key: str
    created_by_id: UUID | None
    expires_at: datetime
    last_used_at: datetime
    detected: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**row, "purpose": FilePurpose(row["purpose"])})


class Files(TenantRepository):
    async def insert(
        self,
        *,
        file_id: UUID,
        name: str,
        size: int,
        sha256: str,
        purpose: FilePurpose,
        content_type: str,
        file_format: str | None,
        storage_key: str,
        created_by: UUID | None,
        lifetime: timedelta,
        detected: dict[str, Any] | None,
    ) -> FileRow:
        row = await self.fetchrow_one(
            "INSERT INTO files (tenant_id, id, name, size, sha256, purpose, content_type,"
            " format, storage_key, created_by_id, expires_at, detected)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + $11, $12::jsonb)"
            f" RETURNING {FILE_COLUMNS}",
            file_id,
            name,
            size,
            sha256,
            purpose.value,
            content_type,
            file_format,
            storage_key,
            created_by,
            lifetime,
            json.dumps(detected, ensure_ascii=False) if detected is not None else None,
        )
        return FileRow.of(row)

    async def get(self, file_id: UUID) -> FileRow | None:
        """A file of the tenant that has not expired (an expired one is as good as purged)."""
        row = await self.fetchrow(
            f"SELECT {FILE_COLUMNS} FROM files WHERE tenant_id = $1 AND id = $2"
            " AND expires_at > now()",
            file_id,
        )
        return FileRow.of(row) if row is not None else None

    async def touch(self, file_id: UUID, *, idle_lifetime: timedelta | None) -> FileRow | None:
        """Used now: `last_used_at` moves on, and with `idle_lifetime` the expiry with it. None
        if the file is gone or expired (a purge holding it makes this wait, then miss it)."""
        row = await self.fetchrow(
            "UPDATE files SET last_used_at = now(),"
            " expires_at = CASE WHEN $3::interval IS NULL THEN expires_at"
            " ELSE greatest(expires_at, now() + $3::interval) END"
            " WHERE tenant_id = $1 AND id = $2 AND expires_at > now()"
            f" RETURNING {FILE_COLUMNS}",
            file_id,
            idle_lifetime,
        )
        return FileRow.of(row) if row is not None else None

    async def existing(self, ids: list[UUID]) -> set[UUID]:
        """Which of `ids` have a row (expired or not)."""
        rows = await self.fetch(
            "SELECT id FROM files WHERE tenant_id = $1 AND id = ANY($2::uuid[])", ids
        )
        return {row["id"] for row in rows}


# One purge at a time across instances (a transaction-level advisory lock).
PURGE_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('leedz.file_purge'))"


@dataclass(frozen=True, slots=True)
class ExpiredFile:
    tenant_id: UUID
    id: UUID
    storage_key: str


async def delete_expired(tx: Tx, *, limit: int) -> list[ExpiredFile] | None:
    """Delete up to `limit` expired files of any tenant, oldest expiry first; what they were.
    None when another purge holds the lock. Until this transaction ends their rows stay
    locked: a use of one of them (which would move its expiry on) waits, then finds it gone;
    a use that came first moved the expiry on, and the row is no longer deleted."""
    if not await tx.raw.fetchval(PURGE_LOCK):
        return None
    rows = await tx.raw.fetch(
        "DELETE FROM files WHERE expires_at < now() AND id IN ("
        " SELECT id FROM files WHERE expires_at < now() ORDER BY expires_at LIMIT $1)"
        " RETURNING tenant_id, id, storage_key",
        limit,
    )
    return [ExpiredFile(**row) for row in rows]
