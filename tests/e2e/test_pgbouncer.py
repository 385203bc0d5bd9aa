"""The app behind a transaction-mode PgBouncer (Neon's pooled `-pooler` URL, locally).

PgBouncer from the Debian package, `default_pool_size = 2`: every client transaction borrows one
of two server connections, with no reset in between. The migrations ran directly on the server
(the session fixture); the app is configured as on Neon: `DATABASE_URL` direct,
`DATABASE_APP_URL` pooled, `LEEDZ_DB_STATEMENT_CACHE_SIZE=0` (PgBouncer < 1.21 cannot route
named prepared statements).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from leedz.app import create_app
from leedz.config import Settings
from leedz.kit.db import Database
from tests.factories.accounts import Account, login, on_plan, signup, unique_email
from tests.factories.agents import AgentHandle, claim, create_job, register_agent
from tests.factories.rows import TenantRows, create_tenant_with_rows
from tests.kit.test_tenant_isolation import TENANT_TABLES
from tests.support.databases import APP_ROLE
from tests.support.live import running_server
from tests.support.pgbouncer import Bouncer, pgbouncer

pytestmark = pytest.mark.e2e

POOL_SIZE = 2


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


@pytest.fixture(scope="module")
def bouncer(database_url: str) -> Iterator[Bouncer]:
    with pgbouncer(database_url, pool_size=POOL_SIZE) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, bouncer: Bouncer) -> Settings:
    settings.database_app_url = bouncer.url
    settings.db_statement_cache_size = 0
    return settings


@pytest.fixture
def app(settings: Settings, database_url: str) -> FastAPI:
    # DATABASE_URL stays direct (what migrations use); request traffic goes to DATABASE_APP_URL.
    return create_app(settings, database_url=database_url)


async def server_backends(owner: asyncpg.Connection) -> int:
    """Client backends on this database other than the owner's own: PgBouncer's connections."""
    count: int = await owner.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    return count


def owner_database(url: str) -> str:
    return str(make_url(url).database)


async def as_bouncer_client(bouncer: Bouncer) -> asyncpg.Connection:
    return await asyncpg.connect(bouncer.url, statement_cache_size=0)


class TestFlowsThroughThePooler:
    async def test_auth_invites_jobs_and_agents(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        owner: asyncpg.Connection,
        bouncer: Bouncer,
        database_url: str,
    ) -> None:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text

        boss = await signup(client, tenant_name="Pooled Co")
        await on_plan(owner, boss, "PRO")
        boss = await login(client, boss)
        refreshed = await client.post("/v1/auth/refresh", json={"refreshToken": boss.refresh})
        assert refreshed.status_code == 200, refreshed.text
        boss = Account(boss.email, boss.password, refreshed.json())
        me = await client.get("/v1/auth/me", headers=boss.headers)
        assert me.status_code == 200, me.text

        # An invite: created, looked up (public), accepted by a user of another tenant.
        address = unique_email("pooled")
        created = await client.post(
            "/v1/invites", json={"email": address, "role": "MANAGER"}, headers=boss.headers
        )
        assert created.status_code == 201, created.text
        token = created.json()["acceptUrl"].rsplit("/", 1)[1]
        lookup = await client.post("/v1/invites/lookup", json={"token": token})
        assert lookup.status_code == 200, lookup.text
        assert lookup.json()["tenantName"] == "Pooled Co"
        invitee = await signup(client, email=address, tenant_name="Elsewhere")
        accepted = await client.post(
            "/v1/invites/accept", json={"token": token}, headers=invitee.headers
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["tenant"]["id"] == boss.tenant_id

        # A job, an agent, and the lease lifecycle through the REST twin.
        job = await create_job(client, boss)
        agent = await register_agent(client, boss)
        beat = await client.post("/v1/agent/heartbeat", headers=agent.headers)
        assert beat.status_code == 200, beat.text
        claimed = await claim(client, agent)
        assert claimed is not None
        assert claimed["job"]["id"] == job["id"]
        lease = claimed["leaseId"]
        progress = await client.post(
            f"/v1/agent/jobs/{job['id']}/progress",
            json={"leaseId": lease, "progress": 50},
            headers=agent.headers,
        )
        assert progress.status_code == 200, progress.text
        done = await client.post(
            f"/v1/agent/jobs/{job['id']}/complete",
            json={"leaseId": lease, "output": {"n": 1}},
            headers=agent.headers,
        )
        assert done.status_code == 200, done.text
        seen = (await client.get(f"/v1/jobs/{job['id']}", headers=boss.headers)).json()
        assert seen["status"] == "COMPLETED"
        # jsonb through the pool's text codec; a SEARCH job's lead counters beside the output
        assert seen["output"] == {"n": 1, "leadsCreated": 0, "leadsJoined": 0}

        # All of it over the pooler's two server connections, whatever the app pool's size.
        assert 1 <= await server_backends(owner) <= POOL_SIZE
        # The app's connections logged in at PgBouncer, not at the server.
        assert f"login attempt: db={owner_database(database_url)}" in bouncer.log()
        assert "ERROR" not in bouncer.log()

    async def test_leedz_serve_with_the_pooled_app_url(
        self, database_url: str, bouncer: Bouncer, tmp_path: Path
    ) -> None:
        """The real process, configured by environment only, as on a platform with Neon."""
        with running_server(
            database_url,
            tmp_path / "data",
            DATABASE_APP_URL=bouncer.url,
            LEEDZ_DB_STATEMENT_CACHE_SIZE="0",
        ) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                assert (await http.get("/readyz")).status_code == 200
                account = await signup(http)
                await login(http, account)
                jobs = await http.get("/v1/jobs", headers=account.headers)
                assert jobs.status_code == 200, jobs.text
                assert jobs.json()["items"] == []


@pytest.fixture
async def tenants(client: httpx.AsyncClient, owner: asyncpg.Connection) -> list[dict[str, Any]]:
    """Two tenants through the API, each with its own jobs and agent (different counts)."""
    made = []
    for name, jobs in (("Alpha", 3), ("Beta", 2)):
        account = await signup(client, tenant_name=name)
        await on_plan(owner, account, "PRO")
        job_ids = {(await create_job(client, account))["id"] for _ in range(jobs)}
        agent: AgentHandle = await register_agent(client, account)
        made.append({"account": account, "jobs": job_ids, "agent": agent.id})
    return made


async def check_own_rows_only(client: httpx.AsyncClient, tenant: dict[str, Any]) -> None:
    account: Account = tenant["account"]
    jobs = await client.get("/v1/jobs", headers=account.headers)
    assert jobs.status_code == 200, jobs.text
    assert {j["id"] for j in jobs.json()["items"]} == tenant["jobs"]
    agents = await client.get("/v1/agents", headers=account.headers)
    assert agents.status_code == 200, agents.text
    assert [a["id"] for a in agents.json()["items"]] == [tenant["agent"]]
    current = await client.get("/v1/tenants/current", headers=account.headers)
    assert current.json()["id"] == account.tenant_id
    members = await client.get("/v1/members", headers=account.headers)
    assert [m["user"]["email"] for m in members.json()["items"]] == [account.email]


class TestTenantContextNeverLeaks:
    async def test_alternating_requests_see_only_their_tenant(
        self, client: httpx.AsyncClient, tenants: list[dict[str, Any]], owner: asyncpg.Connection
    ) -> None:
        for _ in range(15):
            for tenant in tenants:
                await check_own_rows_only(client, tenant)
        assert 1 <= await server_backends(owner) <= POOL_SIZE

    async def test_concurrent_requests_see_only_their_tenant(
        self, client: httpx.AsyncClient, tenants: list[dict[str, Any]], owner: asyncpg.Connection
    ) -> None:
        # More concurrent requests than the app pool has connections, and far more than the
        # two server connections: PgBouncer queues them and interleaves the tenants.
        await asyncio.gather(*(check_own_rows_only(client, tenants[i % 2]) for i in range(40)))
        assert 1 <= await server_backends(owner) <= POOL_SIZE

    async def test_a_transaction_without_tenant_after_a_tenant_one_sees_nothing(
        self, owner: asyncpg.Connection, bouncer: Bouncer
    ) -> None:
        """Raw SQL through the pooler: tenant A's transaction on a server connection, then
        another client's transaction as the request role without a tenant, on the same one."""
        a = await create_tenant_with_rows(owner, "a")
        await create_tenant_with_rows(owner, "b")
        first, second = await as_bouncer_client(bouncer), await as_bouncer_client(bouncer)
        try:
            same_server = 0
            for _ in range(10):
                pid_a, seen_a = await tenant_transaction(first, a)
                assert seen_a == len(TENANT_TABLES)  # one row per table, all tenant A's
                pid, seen, settings = await tenantless_transaction(second)
                same_server += pid == pid_a
                assert seen == 0
                assert settings == (make_url(bouncer.url).username, "", "")
        finally:
            await first.close()
            await second.close()
        # PgBouncer hands back the most recently used server connection: the check ran on the
        # very connection tenant A's transaction had just used.
        assert same_server >= 5

    async def test_the_check_would_catch_a_session_level_setting(
        self, owner: asyncpg.Connection, database_url: str
    ) -> None:
        """The control: a tenant set for the session (`is_local = false`) does leak to the next
        client on that server connection. (Its own PgBouncer: the leaked setting dies with it.)"""
        a = await create_tenant_with_rows(owner, "a")
        with pgbouncer(database_url, pool_size=1) as single:
            first, second = await as_bouncer_client(single), await as_bouncer_client(single)
            try:
                await first.execute(
                    "SELECT set_config('app.current_tenant_id', $1, false)", str(a.tenant_id)
                )
                _, seen, _ = await tenantless_transaction(second)
            finally:
                await first.close()
                await second.close()
        assert seen == len(TENANT_TABLES)


async def tenant_transaction(conn: asyncpg.Connection, tenant: TenantRows) -> tuple[int, int]:
    """As the request role with `tenant` set: (server pid, tenant rows seen over all tables)."""
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('role', $1, true), set_config('app.current_tenant_id', $2, true)",
            APP_ROLE,
            str(tenant.tenant_id),
        )
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
        seen = await count_tenant_rows(conn)
    return pid, seen


async def tenantless_transaction(conn: asyncpg.Connection) -> tuple[int, int, tuple[str, ...]]:
    """Before switching role: the session's user and leftover context; then, as the request role
    without a tenant: (server pid, tenant rows seen, (current_user, tenant, user) before)."""
    async with conn.transaction():
        before = await conn.fetchrow(
            "SELECT current_user::text,"
            " coalesce(current_setting('app.current_tenant_id', true), ''),"
            " coalesce(current_setting('app.current_user_id', true), '')"
        )
        assert before is not None
        await conn.execute("SELECT set_config('role', $1, true)", APP_ROLE)
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
        seen = await count_tenant_rows(conn)
    return pid, seen, tuple(before)


async def count_tenant_rows(conn: asyncpg.Connection) -> int:
    total = 0
    for table in TENANT_TABLES:
        total += await conn.fetchval(f"SELECT count(*) FROM {table}")
    return total


class TestPreparedStatements:
    async def test_the_request_pool_repeats_parametrized_queries_without_errors(
        self, settings: Settings, database_url: str, owner: asyncpg.Connection
    ) -> None:
        """The app's pool (14 client connections, cache 0) over 2 server connections: the same
        parametrized statements many times, in transactions and on their own."""
        a = await create_tenant_with_rows(owner, "a")
        b = await create_tenant_with_rows(owner, "b")
        db = Database(settings, database_url)
        await db.start()
        try:

            async def one(i: int) -> None:
                tenant = (a, b)[i % 2]
                async with db.transaction(tenant_id=tenant.tenant_id) as tx:
                    row = await tx.raw.fetchrow(
                        "SELECT count(*) AS n, array_agg(DISTINCT tenant_id) AS t FROM jobs"
                        " WHERE priority >= $1",
                        -1,
                    )
                    assert row is not None
                    assert (row["n"], row["t"]) == (1, [tenant.tenant_id])
                    assert await tx.raw.fetchval("SELECT $1::jsonb", f'{{"i": {i}}}') == {"i": i}
                found = await db.fetchrow_as_app(
                    "SELECT id, password_hash, default_tenant_id FROM leedz_login_lookup($1, $2)",
                    APP_ROLE,
                    f"nobody-{i}@example.com",
                )
                assert found is None

            for start in range(0, 120, 20):
                await asyncio.gather(*(one(i) for i in range(start, start + 20)))
            assert await db.ping(5) is not None
        finally:
            await db.dispose()
        assert 1 <= await server_backends(owner) <= POOL_SIZE

    async def test_named_statements_need_the_setting_on_this_pgbouncer(
        self, bouncer: Bouncer
    ) -> None:
        """asyncpg's default (a cache of named statements) breaks through PgBouncer < 1.21: the
        statement is prepared on one server connection and executed on another. On a PgBouncer
        that tracks prepared statements (≥ 1.21, `max_prepared_statements`), it would work."""
        if _version(bouncer.version) >= (1, 21):
            pytest.fail(f"PgBouncer {bouncer.version} may track prepared statements: revisit")
        pool = await asyncpg.create_pool(bouncer.url, min_size=4, max_size=4)
        try:

            async def one(i: int) -> None:
                async with pool.acquire() as conn:
                    await conn.fetchval("SELECT $1::int + 0 * $2::int", i, i)

            async def until_it_breaks() -> None:
                for start in range(0, 400, 8):
                    await asyncio.gather(*(one(i) for i in range(start, start + 8)))

            with pytest.raises(
                (asyncpg.InvalidSQLStatementNameError, asyncpg.DuplicatePreparedStatementError)
            ):
                await until_it_breaks()
        finally:
            pool.terminate()
