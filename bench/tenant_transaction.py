"""Tenant-scoped transaction overhead of kit/db against raw asyncpg.

Subject: `Database.transaction(tenant_id=…)` (the pool, a transaction, the role
switch with tenant/user context and statement timeout in one `set_config` round trip) followed by
an RLS-scoped SELECT of 20 jobs on `tx.raw`, committed. Ceiling: the same statements in one
transaction on a bare asyncpg pool of the same size. Both alternate in rounds on one database.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from tests.support.scratch import asyncpg_dsn

from bench.harness import Result, closed_loop
from leedz.config import Environment, Settings
from leedz.kit.db import Database, _reset_connection

CONCURRENCY = 8
POOL_SIZE = 8
ROUNDS = 3
SECONDS = 3.0
SCOPE_SQL = (
    "SELECT set_config('role', 'leedz_app', true),"
    " set_config('app.current_tenant_id', $1, true),"
    " set_config('app.current_user_id', '', true),"
    " set_config('statement_timeout', '15000', true)"
)
READ_SQL = "SELECT id, status FROM jobs WHERE tenant_id = $1 ORDER BY created_at LIMIT 20"


async def _seed(url: str) -> list[uuid.UUID]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    tenants = [uuid.uuid4() for _ in range(4)]
    try:
        user = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', 'bench')",
            user,
            f"bench-{user.hex[:8]}@example.com",
        )
        for tenant in tenants:
            await conn.execute(
                "INSERT INTO tenants (id, name, slug) VALUES ($1, 'bench', $2)", tenant, tenant.hex
            )
            await conn.executemany(
                "INSERT INTO jobs (tenant_id, type, created_by_id) VALUES ($1, 'SEARCH', $2)",
                [(tenant, user)] * 50,
            )
    finally:
        await conn.close()
    return tenants


async def run(url: str) -> Result:
    tenants = await _seed(url)
    settings = Settings(env=Environment.TEST, db_pool_size=POOL_SIZE, db_max_overflow=0)
    db = Database(settings, url)
    await db.start()
    # The ceiling skips asyncpg's per-release RESET round trip, as kit/db does: same statements.
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url), min_size=POOL_SIZE, max_size=POOL_SIZE, reset=_reset_connection
    )
    assert pool is not None

    async def through_kit(i: int) -> None:
        tenant = tenants[i % len(tenants)]
        async with db.transaction(tenant_id=tenant) as tx:
            rows = await tx.raw.fetch(READ_SQL, tenant)
            assert len(rows) == 20

    async def raw_asyncpg(i: int) -> None:
        tenant = tenants[i % len(tenants)]
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchrow(SCOPE_SQL, str(tenant))
            rows = await conn.fetch(READ_SQL, tenant)
            assert len(rows) == 20

    result = Result(
        name="tenant_transaction",
        subject="kit/db Database.transaction + plain SQL on tx.raw",
        ceiling="raw asyncpg: same set_config + SELECT in one transaction",
        target_ratio=0.7,
    )
    try:
        await closed_loop(through_kit, concurrency=CONCURRENCY, seconds=1.0)  # warm-up
        await closed_loop(raw_asyncpg, concurrency=CONCURRENCY, seconds=1.0)
        for _ in range(ROUNDS):
            result.subject_samples.append(
                await closed_loop(through_kit, concurrency=CONCURRENCY, seconds=SECONDS)
            )
            result.ceiling_samples.append(
                await closed_loop(raw_asyncpg, concurrency=CONCURRENCY, seconds=SECONDS)
            )
    finally:
        await pool.close()
        await db.dispose()
    return result


def main(url: str) -> Result:
    return asyncio.run(run(url))
