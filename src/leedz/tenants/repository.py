"""Tenants are isolated on their own id: every query here names the tenant it touches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leedz.access.roles import Role
from leedz.kit.db import Tx

_TENANT_COLUMNS = "t.id, t.name, t.slug, p.name AS plan, t.created_at"


@dataclass(frozen=True, slots=True)
class TenantRow:
    id: UUID
    name: str
    slug: str
    plan: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TenantWithRoleRow(TenantRow):
    """A tenant a user belongs to, with their role there."""

    role: Role


class Tenants:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def insert(self, *, tenant_id: UUID, name: str, slug: str, plan: str) -> bool:
        """False when the slug is taken."""
        status = await self.tx.raw.execute(
            "INSERT INTO tenants (id, name, slug, plan_id)"
            " SELECT $1, $2, $3, id FROM plans WHERE name = $4"
            " ON CONFLICT (slug) DO NOTHING",
            tenant_id,
            name,
            slug,
            plan,
        )
        return status == "INSERT 0 1"

    async def add_owner(self, tenant_id: UUID, user_id: UUID) -> None:
        """A new tenant's first member, its OWNER (inside the new tenant's context)."""
        await self.tx.raw.execute(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)",
            tenant_id,
            user_id,
            Role.OWNER.value,
        )

    async def owned_on_plan(self, user_id: UUID, plan: str) -> int:
        """How many tenants on `plan` the user owns (needs the user context set)."""
        owned: int = await self.tx.raw.fetchval(
            "SELECT count(*) FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
            " JOIN plans p ON p.id = t.plan_id"
            " WHERE m.user_id = $1 AND m.role = 'OWNER' AND p.name = $2",
            user_id,
            plan,
        )
        return owned

    async def get(self, tenant_id: UUID) -> TenantRow | None:
        row = await self.tx.raw.fetchrow(
            f"SELECT {_TENANT_COLUMNS} FROM tenants t LEFT JOIN plans p ON p.id = t.plan_id"
            " WHERE t.id = $1",
            tenant_id,
        )
        return TenantRow(**row) if row is not None else None

    async def lock(self, tenant_id: UUID) -> None:
        """Serialise changes to a tenant's membership and seats behind its row."""
        await self.tx.raw.execute("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", tenant_id)

    async def rename(self, tenant_id: UUID, name: str) -> None:
        await self.tx.raw.execute(
            "UPDATE tenants SET name = $2, updated_at = now() WHERE id = $1", tenant_id, name
        )

    async def of_user(self, user_id: UUID) -> list[TenantWithRoleRow]:
        """The tenants `user_id` belongs to, with their role (needs the user context set)."""
        rows = await self.tx.raw.fetch(
            f"SELECT {_TENANT_COLUMNS}, m.role FROM memberships m"
            " JOIN tenants t ON t.id = m.tenant_id LEFT JOIN plans p ON p.id = t.plan_id"
            " WHERE m.user_id = $1 ORDER BY m.created_at, t.id",
            user_id,
        )
        return [TenantWithRoleRow(**{**row, "role": Role(row["role"])}) for row in rows]
