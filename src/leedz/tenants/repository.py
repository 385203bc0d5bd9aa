"""Tenants are isolated on their own id: every query here names the tenant it touches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from leedz.access.roles import Role
from leedz.kit.db import Tx
from leedz.plans.repository import PLAN_LIMIT_COLUMNS, PlanLimitsRow, plan_limits

_SETTINGS_COLUMNS = "t.default_country, t.timezone, t.sales_see_all_leads, t.language"
_TENANT_COLUMNS = f"t.id, t.name, t.slug, p.name AS plan, t.created_at, {_SETTINGS_COLUMNS}"
SETTINGS_AND_PLAN_SQL = (
    f"SELECT {_SETTINGS_COLUMNS}, {PLAN_LIMIT_COLUMNS}"
    " FROM tenants t JOIN plans p ON p.id = t.plan_id WHERE t.id = $1"
)
"""The tenant `$1`'s settings and its plan's limits (`settings_and_plan_of` reads a row of it;
a statement of another feature may select it as a CTE: leads/repository.py `Leads.create`)."""


@dataclass(frozen=True, slots=True)
class TenantSettings:
    """A tenant's settings, as other features read them (`tenants.service.settings`).

    `default_country`: ISO 3166-1 alpha-2, upper case, the country a phone without a country
    code is read in; `timezone`: an IANA name; `sales_see_all_leads`: False when SALES members
    see only their own and unassigned leads; `language`: `ar` or `en`.
    """

    default_country: str
    timezone: str
    sales_see_all_leads: bool
    language: str


@dataclass(frozen=True, slots=True)
class TenantRow:
    id: UUID
    name: str
    slug: str
    plan: str | None
    created_at: datetime
    settings: TenantSettings


@dataclass(frozen=True, slots=True)
class TenantChanges:
    """What one update sets; None leaves a column as it is."""

    name: str | None = None
    default_country: str | None = None
    timezone: str | None = None
    sales_see_all_leads: bool | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class TenantWithRoleRow(TenantRow):
    """A tenant a user belongs to, with their role there."""

    role: Role


def settings_and_plan_of(
    row: asyncpg.Record | Mapping[str, Any],
) -> tuple[TenantSettings, PlanLimitsRow]:
    """The settings and the plan's limits of a row that selected `SETTINGS_AND_PLAN_SQL`'s
    columns (among others)."""
    return _settings(row), plan_limits(row)


def _settings(row: asyncpg.Record | Mapping[str, Any]) -> TenantSettings:
    return TenantSettings(
        default_country=row["default_country"],
        timezone=row["timezone"],
        sales_see_all_leads=row["sales_see_all_leads"],
        language=row["language"],
    )


def _tenant_fields(row: asyncpg.Record) -> dict[str, Any]:
    """A TenantRow's fields from a row of `_TENANT_COLUMNS`."""
    return {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "plan": row["plan"],
        "created_at": row["created_at"],
        "settings": _settings(row),
    }


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

    async def get(self, tenant_id: UUID, *, for_update: bool = False) -> TenantRow | None:
        """The tenant; `for_update` locks its row until commit (read, compare, then write)."""
        row = await self.tx.raw.fetchrow(
            f"SELECT {_TENANT_COLUMNS} FROM tenants t LEFT JOIN plans p ON p.id = t.plan_id"
            " WHERE t.id = $1" + (" FOR UPDATE OF t" if for_update else ""),
            tenant_id,
        )
        return TenantRow(**_tenant_fields(row)) if row is not None else None

    async def settings(self, tenant_id: UUID) -> TenantSettings | None:
        row = await self.tx.raw.fetchrow(
            f"SELECT {_SETTINGS_COLUMNS} FROM tenants t WHERE t.id = $1", tenant_id
        )
        return _settings(row) if row is not None else None

    async def settings_and_plan(
        self, tenant_id: UUID
    ) -> tuple[TenantSettings, PlanLimitsRow] | None:
        """The settings and the plan's limits, in one round trip (a lead's creation needs
        both)."""
        row = await self.tx.raw.fetchrow(SETTINGS_AND_PLAN_SQL, tenant_id)
        return settings_and_plan_of(row) if row is not None else None

    async def lock(self, tenant_id: UUID) -> None:
        """Serialise changes to a tenant's membership and seats behind its row."""
        await self.tx.raw.execute("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", tenant_id)

    async def update(self, tenant_id: UUID, changes: TenantChanges) -> None:
        """Set what `changes` names (one statement whatever it names: no column is nullable)."""
        await self.tx.raw.execute(
            "UPDATE tenants SET name = COALESCE($2, name),"
            " default_country = COALESCE($3, default_country),"
            " timezone = COALESCE($4, timezone),"
            " sales_see_all_leads = COALESCE($5, sales_see_all_leads),"
            " language = COALESCE($6, language), updated_at = now()"
            " WHERE id = $1",
            tenant_id,
            changes.name,
            changes.default_country,
            changes.timezone,
            changes.sales_see_all_leads,
            changes.language,
        )

    async def of_user(self, user_id: UUID) -> list[TenantWithRoleRow]:
        """The tenants `user_id` belongs to, with their role (needs the user context set)."""
        rows = await self.tx.raw.fetch(
            f"SELECT {_TENANT_COLUMNS}, m.role FROM memberships m"
            " JOIN tenants t ON t.id = m.tenant_id LEFT JOIN plans p ON p.id = t.plan_id"
            " WHERE m.user_id = $1 ORDER BY m.created_at, t.id",
            user_id,
        )
        return [TenantWithRoleRow(**_tenant_fields(row), role=Role(row["role"])) for row in rows]
