"""Plans and quotas: the catalog, a tenant's usage against its plan, and quota checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from leedz.errors import FeatureNotInPlan, QuotaExceeded
from leedz.kit.db import Tx
from leedz.kit.urls import async_url
from leedz.plans import repository
from leedz.plans.catalog import PLANS
from leedz.plans.schemas import PlanOut, Usage, UsageCounts


async def seed_plans(owner_url: str) -> None:
    """Write the plan catalog into the database (idempotent)."""
    engine = create_async_engine(async_url(owner_url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await repository.upsert_plans(conn, PLANS)
    finally:
        await engine.dispose()


def current_period(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).date().replace(day=1)


async def list_plans(tx: Tx) -> list[PlanOut]:
    """The public plan catalog, cheapest first."""
    rows = await repository.Plans(tx).all()
    return [PlanOut.model_validate(r) for r in rows]


async def usage(tx: Tx) -> Usage:
    """The current tenant's consumption this month against its plan's limits."""
    plan = await repository.Plans(tx).of_current_tenant()
    counts = await repository.UsageQueries(tx).current(current_period())
    return Usage(
        plan=plan.name,
        period=current_period(),
        used=UsageCounts.model_validate(counts),
        limits=UsageCounts(
            users=plan.max_users,
            leads=plan.max_leads,
            searches=plan.max_searches,
            messages=plan.max_messages,
        ),
    )


async def ensure_seats(tx: Tx, *, adding: int, counting_pending_invites: bool) -> None:
    """Refuse when members (plus pending invites) plus `adding` would pass the plan's maxUsers.

    The caller holds the tenant's row (`tenants.lock_current`), so two requests cannot both take
    the last seat.
    """
    plan = await repository.Plans(tx).of_current_tenant()
    limit = plan.max_users
    if limit is None:
        return
    queries = repository.UsageQueries(tx)
    used = await queries.members()
    if counting_pending_invites:
        used += await queries.pending_invites()
    if used + adding > limit:
        raise QuotaExceeded(
            f"The {plan.name} plan allows {limit} users (members and pending invites)",
            quota="users",
            limit=limit,
            used=used,
        )


async def require_feature(tx: Tx, feature: str) -> None:
    """Refuse (402 `feature_not_in_plan`) unless the current tenant's plan has `feature` on."""
    plan, features = await repository.Plans(tx).features_of_current_tenant()
    if features.get(feature) is not True:
        raise FeatureNotInPlan(f"The {plan} plan does not include {feature}", feature=feature)
