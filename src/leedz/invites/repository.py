from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from leedz.access.roles import Role
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository

INVITE_COLUMNS = "id, email, role, status, inviter_id, expires_at, created_at"


class Invites(TenantRepository):
    async def insert(
        self, *, email: str, role: Role, token_hash: bytes, expires_at: datetime, inviter_id: UUID
    ) -> asyncpg.Record:
        return await self.fetchrow_one(
            "INSERT INTO invites (tenant_id, email, role, token_hash, expires_at, inviter_id)"
            f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INVITE_COLUMNS}",
            email,
            role.value,
            token_hash,
            expires_at,
            inviter_id,
        )

    async def pending_by_email_locked(self, email: str) -> asyncpg.Record | None:
        return await self.fetchrow(
            f"SELECT {INVITE_COLUMNS} FROM invites"
            " WHERE tenant_id = $1 AND email = $2 AND status = 'PENDING' FOR UPDATE",
            email,
        )

    async def by_id_locked(self, invite_id: UUID) -> asyncpg.Record | None:
        return await self.fetchrow(
            f"SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            invite_id,
        )

    async def usable_by_hash_locked(self, token_hash: bytes) -> asyncpg.Record | None:
        """The invite of this token if it is still pending and unexpired."""
        return await self.fetchrow(
            f"SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1 AND token_hash = $2"
            " AND status = 'PENDING' AND expires_at > now() FOR UPDATE",
            token_hash,
        )

    async def set_status(self, invite_id: UUID, status: str) -> None:
        await self.execute(
            "UPDATE invites SET status = $3, responded_at = now(), updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            invite_id,
            status,
        )

    async def replace_token(
        self, invite_id: UUID, token_hash: bytes, expires_at: datetime
    ) -> asyncpg.Record:
        return await self.fetchrow_one(
            "UPDATE invites SET token_hash = $3, expires_at = $4, updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {INVITE_COLUMNS}",
            invite_id,
            token_hash,
            expires_at,
        )

    async def pending(self) -> list[asyncpg.Record]:
        return await self.fetch(
            f"SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1"
            " AND status = 'PENDING' AND expires_at > now() ORDER BY created_at DESC, id"
        )


async def tenant_and_inviter_names(tx: Tx, inviter_id: UUID) -> tuple[str, str] | None:
    """The current tenant's name and the inviter's, for the invite's mail and lookup."""
    row = await tx.raw.fetchrow(
        "SELECT t.name AS tenant_name, u.name AS inviter_name"
        " FROM tenants t, users u WHERE t.id = $1 AND u.id = $2",
        tx.tenant_id,
        inviter_id,
    )
    return (row["tenant_name"], row["inviter_name"]) if row is not None else None
