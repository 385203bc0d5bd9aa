from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from leedz.kit.urls import async_url
from leedz.plans import repository
from leedz.plans.catalog import PLANS


async def seed_plans(owner_url: str) -> None:
    """Write the plan catalog into the database (idempotent)."""
    engine = create_async_engine(async_url(owner_url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await repository.upsert_plans(conn, PLANS)
    finally:
        await engine.dispose()
