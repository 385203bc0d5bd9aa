"""The plans of the search SQL as the request role, under RLS, on 20,000 leads per tenant:
every sort's first page walks its index; a q walks it too, and a rare q's remainder is read
in the table's order and sorted (docs/search.md)."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest

from leedz.leads.repository import (
    KeysetAfter,
    LeadConditions,
    LeadQuerySpec,
    page_sql,
    scan_sql,
    walk_sql,
)
from leedz.leads.search import q_patterns
from tests.factories import bulk_leads
from tests.support.databases import APP_ROLE

INDEX = {
    "created_at": "ix_leads_tenant_id_created_at_id",
    "updated_at": "ix_leads_tenant_id_updated_at_id",
    "last_activity_at": "ix_leads_tenant_id_last_activity_at_id",
    "name_sort": "ix_leads_tenant_id_name_sort_id",
    "rating": "ix_leads_tenant_id_rating_id",
}


@pytest.fixture
async def tenant(owner: asyncpg.Connection) -> uuid.UUID:
    mine = await bulk_leads.tenant(owner, "Mine")
    await bulk_leads.leads(owner, mine, 20_000)
    await bulk_leads.leads(owner, await bulk_leads.tenant(owner, "Theirs"), 20_000)
    await owner.execute("ANALYZE leads")
    return mine


async def _plan(
    conn: asyncpg.Connection, tenant: uuid.UUID, spec: LeadQuerySpec, **page: object
) -> str:
    sql, args = page_sql(spec, limit=51, **page)  # type: ignore[arg-type]
    return await _explain(conn, tenant, sql, args)


async def _explain(
    conn: asyncpg.Connection, tenant: uuid.UUID, sql: str, args: list[object]
) -> str:
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true),"
            " set_config('app.current_user_id', '', true)",
            APP_ROLE,
            str(tenant),
        )
        rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF) " + sql, tenant, *args)
    return "\n".join(r[0] for r in rows)


def _walks(plan: str, index: str) -> bool:
    return f"Index Scan Backward using {index} " in plan or f"Index Scan using {index} " in plan


async def test_a_first_page_walks_the_sorts_index(
    owner: asyncpg.Connection, tenant: uuid.UUID
) -> None:
    spec = LeadQuerySpec(conditions=(LeadConditions(),))
    for column, index in INDEX.items():
        for descending in (False, True):
            plan = await _plan(
                owner, tenant, spec, column=column, descending=descending, nulls=False, after=None
            )
            assert _walks(plan, index), f"{column} desc={descending}:\n{plan}"
            assert "Sort" not in plan, f"{column} desc={descending}:\n{plan}"


async def test_a_q_walks_the_index_instead_of_sorting_the_tenant(
    owner: asyncpg.Connection, tenant: uuid.UUID
) -> None:
    """Whether q is common or absent, the walk reads the sort's index in order: the planner's
    guess about LIKE (a few rows, under RLS) is never a reason to read and sort the tenant."""
    for q in ["مطعم", "الرياض", "cafe", "ca", "0500000123", "zzqx"]:
        spec = LeadQuerySpec(
            conditions=(LeadConditions(patterns=q_patterns(q, default_country="SA")),)
        )
        for column in ("created_at", "name_sort"):
            sql, args = walk_sql(
                spec, column=column, descending=True, nulls=False, after=None, rows=1000,
                wanted=51,
            )  # fmt: skip
            plan = await _explain(owner, tenant, sql, args)
            assert _walks(plan, INDEX[column]), f"q={q!r} by {column}:\n{plan}"
            assert "Seq Scan on leads" not in plan, plan
            assert "Bitmap Heap Scan on leads" not in plan, plan


async def test_a_rare_q_reads_the_table_in_its_order_then_sorts(
    owner: asyncpg.Connection, tenant: uuid.UUID
) -> None:
    """What a walk hands over: every candidate read in the table's order (not the sort's
    index in random heap order), the few matches sorted."""
    spec = LeadQuerySpec(
        conditions=(LeadConditions(patterns=q_patterns("zzqx", default_country="SA")),)
    )
    for column in ("name_sort", "created_at", "rating"):
        sql, args = scan_sql(
            spec, column=column, descending=False, nulls=False, after=None, limit=51
        )
        plan = await _explain(owner, tenant, sql, args)
        assert not _walks(plan, INDEX[column]), f"{column}:\n{plan}"
        assert "Sort Key: found.sort_key" in plan, plan


async def test_a_next_page_starts_inside_the_index(
    owner: asyncpg.Connection, tenant: uuid.UUID
) -> None:
    row = await owner.fetchrow(
        "SELECT created_at, id FROM leads WHERE tenant_id = $1"
        " ORDER BY created_at DESC, id DESC OFFSET 10000 LIMIT 1",
        tenant,
    )
    assert row is not None
    spec = LeadQuerySpec(conditions=(LeadConditions(),))
    plan = await _plan(
        owner,
        tenant,
        spec,
        column="created_at",
        descending=True,
        nulls=False,
        after=KeysetAfter(row["created_at"], row["id"]),
    )
    assert _walks(plan, INDEX["created_at"]), plan
    assert "ROW(leads.created_at, leads.id) < ROW(" in plan.replace("\n", " ") or (
        "(created_at, id) <" in plan
    ), plan
    # It stops after the page: 51 rows read (PostgreSQL 18 writes 51.00).
    walk = r"Index Scan Backward using \S+ on leads \(actual [^)]*rows=51(\.00)? "
    assert re.search(walk, plan), plan
