from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leedz.access.repository import role_in_tenant
from leedz.access.roles import Role
from leedz.kit.repository import TenantRepository


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member: the user (id, email, name, avatar_url, created_at), their role and since when."""

    id: UUID
    email: str
    name: str
    avatar_url: str | None
    created_at: datetime
    email_verified: bool
    role: Role
    joined_at: datetime


class Memberships(TenantRepository):
    async def add(self, user_id: UUID, role: Role) -> None:
        await self.execute(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)",
            user_id,
            role.value,
        )

    async def role_of(self, user_id: UUID, *, for_update: bool = False) -> Role | None:
        return await role_in_tenant(self.tx, user_id, for_update=for_update)

    async def roles_of(self, user_ids: list[UUID]) -> dict[UUID, Role]:
        """The roles of those of `user_ids` who are members (the others are left out)."""
        rows = await self.fetch(
            "SELECT user_id, role FROM memberships WHERE tenant_id = $1 AND user_id = ANY($2)",
            user_ids,
        )
        return {row["user_id"]: Role(row["role"]) for row in rows}

    async def has_email(self, email: str) -> bool:
        """Whether a member of the tenant signs in with `email` (already normalised)."""
        found = await self.fetchval(
            "SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.tenant_id = $1 AND u.email = $2",
            email,
        )
        return found is not None

    async def owners_locked(self) -> int:
        """The number of owners, with their rows locked: two concurrent demotions cannot both
        pass the last-owner check."""
        rows = await self.fetch(
            "SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'OWNER' FOR UPDATE"
        )
        return len(rows)

    async def set_role(self, user_id: UUID, role: Role) -> None:
        await self.execute(
            "UPDATE memberships SET role = $3, updated_at = now()"
            " WHERE tenant_id = $1 AND user_id = $2",
            user_id,
            role.value,
        )

    async def remove(self, user_id: UUID) -> bool:
        status = await self.execute(
            "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2", user_id
        )
        return status == "DELETE 1"

    async def listing(self) -> list[MemberRow]:
        rows = await self.fetch(
            "SELECT u.id, u.email, u.name, u.avatar_url, u.created_at,"
            " u.email_verified_at IS NOT NULL AS email_verified, m.role,"
            " m.created_at AS joined_at FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.tenant_id = $1 ORDER BY m.created_at, u.id"
        )
        return [MemberRow(**{**row, "role": Role(row["role"])}) for row in rows]
