from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leedz.plans.catalog import PlanSpec
from leedz.plans.models import Plan


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
