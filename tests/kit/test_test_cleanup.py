"""The suite's cleanup between tests (tests/support/databases.empty_tenant_data) leaves no row of
a tenant or a user in any table: a table outside its reach (one with tenant data but no foreign
key to `tenants` or `users`) would carry one test's rows into the next."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories.accounts import member, on_plan, signup
from tests.support import databases

KEPT = {"plans", "alembic_version"}  # seeded once, kept for the whole run


async def test_after_the_cleanup_only_the_plan_catalog_has_rows(
    client: httpx.AsyncClient, owner: asyncpg.Connection, database_url: str
) -> None:
    boss = await signup(client, tenant_name="Cleanup Co")
    await on_plan(owner, boss, "PRO")
    await member(client, boss, "SALES")
    lead = await client.post(
        "/v1/leads", json={"name": "مؤسسة الأمل", "phones": ["+966501234567"]}, headers=boss.headers
    )
    assert lead.status_code == 201, lead.text
    listed = await client.post(
        "/v1/lists", json={"name": "L", "kind": "STATIC"}, headers=boss.headers
    )
    assert listed.status_code == 201, listed.text
    job = await client.post(
        "/v1/jobs", json={"type": "SEARCH", "input": {"query": "x"}}, headers=boss.headers
    )
    assert job.status_code == 201, job.text
    tables = [
        r["relname"]
        for r in await owner.fetch(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p')"
            " AND relnamespace = 'public'::regnamespace"
        )
    ]
    counts = {t: await owner.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
    for table in ("leads", "lead_keys", "memberships", "jobs", "lists"):  # rows to remove
        assert counts[table] > 0, table
    await databases.empty_tenant_data(owner, database_url)
    left = {t: await owner.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
    assert {t: n for t, n in left.items() if n and t not in KEPT} == {}
    assert left["plans"] == counts["plans"] > 0
