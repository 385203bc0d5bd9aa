from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from leedz.access.roles import Role
from leedz.invites.models import InviteStatus
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository

INVITE_COLUMNS = "id, email, role, status, inviter_id, expires_at, created_at"


@dataclass(frozen=True, slots=True)
class InviteRow:
    id: UUID
    email: str
    role: Role
    status: InviteStatus
    inviter_id: UUID
    expires_at: datetime
    created_at: datetime


def _invite(row: asyncpg.Record) -> InviteRow:
    return InviteRow(**{**row, "role": Role(row["role"]), "status": InviteStatus(row["status"])})


class Invites(TenantRepository):
    async def insert(
        self, *, email: str, role: Role, token_hash: bytes, expires_at: datetime, inviter_id: UUID
    ) -> InviteRow:
        row = await self.fetchrow_one(
            "INSERT INTO invites (tenant_id, email, role, token_hash, expires_at, inviter_id)"
            f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INVITE_COLUMNS}",
            email,
            role.value,
            token_hash,
            expires_at,
            inviter_id,
        )
        return _invite(row)

    async def pending_by_email_locked(self, email: str) -> InviteRow | None:
        row = await self.fetchrow(
            f"SELECT {INVITE_COLUMNS} FROM invites"
            " WHERE tenant_id = $1 AND email = $2 AND status = 'PENDING' FOR UPDATE",
            email,
        )
        return _invite(row) if row is not None else None

    async def by_id_locked(self, invite_id: UUID) -> InviteRow | None:
        row = await self.fetchrow(
            f"SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            invite_id,
        )
        return _invite(row) if row is not None else None

    async def usable_by_hash_locked(self, token_hash: bytes) -> InviteRow | None:
        """The invite of this token if it is still pending and unexpired."""
        row = await self.fetchrow(
            f"SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1 AND token_hash = $2"
            " AND status = 'PENDING' AND expires_at > now() FOR UPDATE",
            token_hash,
        )
        return _invite(row) if row is not None else None

    async def set_status(self, invite_id: UUID, status: str) -> None:
        await self.execute(
            "UPDATE invites SET status = $3, responded_at = now(), updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            invite_id,
            status,
        )

    async def replace_token(
        self, invite_id: UUID, token_hash: bytes, expires_at: datetime
    ) -> InviteRow:
        row = await self.fetchrow_one(
            "UPDATE invites SET token_hash = $3, expires_at = $4, updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {INVITE_COLUMNS}",
            invite_id,
            token_hash,
            expires_at,
        )
        return _invite(row)

    async def pending(self) -> list[InviteRow]:
        rows = await self.fetch(
            f"SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1"
            " AND status = 'PENDING' AND expires_at > now() ORDER BY created_at DESC, id"
        )
        return [_invite(row) for row in rows]


async def tenant_and_inviter_names(tx: Tx, inviter_id: UUID) -> tuple[str, str] | None:
    """The current tenant's name and the inviter's, for the invite's mail and lookup."""
    row = await tx.raw.fetchrow(
        "SELECT t.name AS tenant_name, u.name AS inviter_name"
        " FROM tenants t, users u WHERE t.id = $1 AND u.id = $2",
        tx.tenant_id,
        inviter_id,
    )
    return (row["tenant_name"], row["inviter_name"]) if row is not None else None
