from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository
from leedz.plans.catalog import PlanSpec
from leedz.plans.models import Plan


@dataclass(frozen=True, slots=True)
class PlanRow:
    """A plan of the catalog; a limit of None is unlimited."""

    name: str
    display_name: str
    price: int
    max_users: int | None
    max_leads: int | None
    max_searches: int | None
    max_messages: int | None
    features: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanLimitsRow:
    """The current tenant's plan: its name and limits (None: unlimited)."""

    name: str
    max_users: int | None
    max_leads: int | None
    max_searches: int | None
    max_messages: int | None


# A PlanLimitsRow's columns, of a plan `p` (plan_limits reads them back).
PLAN_LIMIT_COLUMNS = "p.name AS plan_name, p.max_users, p.max_leads, p.max_searches, p.max_messages"


def plan_limits(row: asyncpg.Record | Mapping[str, Any]) -> PlanLimitsRow:
    """The PlanLimitsRow of a row that selected `PLAN_LIMIT_COLUMNS` (among others)."""
    return PlanLimitsRow(
        name=row["plan_name"],
        max_users=row["max_users"],
        max_leads=row["max_leads"],
        max_searches=row["max_searches"],
        max_messages=row["max_messages"],
    )


@dataclass(frozen=True, slots=True)
class UsageRow:
    """A tenant's consumption: members and leads now, searches and messages this period."""

    users: int
    leads: int
    searches: int
    messages: int


async def upsert_plans(conn: AsyncConnection, plans: tuple[PlanSpec, ...]) -> None:
    """Insert the plans, or bring existing ones (matched by name) up to date.

    Runs as the database owner: the application role may only read plans.
    """
    statement = insert(Plan).values([dict(plan) for plan in plans])
    statement = statement.on_conflict_do_update(
        index_elements=[Plan.name],
        set_={
            column: statement.excluded[column]
            for column in (
                "display_name",
                "price",
                "max_users",
                "max_leads",
                "max_searches",
                "max_messages",
                "features",
            )
        }
        | {"updated_at": func.now()},
    )
    await conn.execute(statement)


class Plans:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def all(self) -> list[PlanRow]:
        rows = await self.tx.raw.fetch(
            "SELECT name, display_name, price, max_users, max_leads, max_searches,"
            " max_messages, features FROM plans ORDER BY price, name"
        )
        return [PlanRow(**row) for row in rows]

    async def of_current_tenant(self) -> PlanLimitsRow:
        row = await self.tx.raw.fetchrow(
            f"SELECT {PLAN_LIMIT_COLUMNS} FROM tenants t JOIN plans p ON p.id = t.plan_id"
            " WHERE t.id = $1",
            self.tx.tenant_id,
        )
        if row is None:
            raise LookupError("the current tenant has no plan")
        return plan_limits(row)

    async def features_of_current_tenant(self) -> tuple[str, dict[str, Any]]:
        """The current tenant's plan name and its features."""
        row = await self.tx.raw.fetchrow(
            "SELECT p.name, p.features FROM tenants t JOIN plans p ON p.id = t.plan_id"
            " WHERE t.id = $1",
            self.tx.tenant_id,
        )
        if row is None:
            raise LookupError("the current tenant has no plan")
        return row["name"], row["features"] or {}


class UsageQueries(TenantRepository):
    async def members(self) -> int:
        return int(await self.fetchval("SELECT count(*) FROM memberships WHERE tenant_id = $1"))

    async def pending_invites(self) -> int:
        return int(
            await self.fetchval(
                "SELECT count(*) FROM invites WHERE tenant_id = $1"
                " AND status = 'PENDING' AND expires_at > now()"
            )
        )

    async def current(self, period: date) -> UsageRow:
        row = await self.fetchrow_one(
            "SELECT (SELECT count(*) FROM memberships WHERE tenant_id = $1) AS users,"
            # What the leads quota counts (leads/repository.py Leads.count_for_quota): live
            # leads and the trash, not those merged into another; all of the tenant's, those
            # the SALES rule hides from this transaction's user too.
            " (SELECT q.leads FROM leedz_quota_leads(false) q WHERE q.tenant_id = $1)"
            " AS leads,"
            " coalesce(u.searches, 0) AS searches, coalesce(u.messages, 0) AS messages"
            " FROM (SELECT 1) one LEFT JOIN usage_counters u"
            " ON u.tenant_id = $1 AND u.period = $2",
            period,
        )
        return UsageRow(**row)
