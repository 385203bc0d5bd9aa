"""Agents and the worker never run each other's jobs; the worker role sees only what it needs."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from leedz.jobs.models import JobType
from tests.factories.accounts import Account, on_plan, signup
from tests.factories.agents import claim, create_job, register_agent
from tests.support.databases import APP_ROLE
from tests.worker.conftest import MakeWorker
from tests.worker.support import LeadWriter, add_job, create_tenant, job_row

WORKER_ROLE = f"{APP_ROLE}_worker"


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


async def test_an_agent_never_claims_a_server_run_job(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, make_worker: MakeWorker
) -> None:
    agent = await register_agent(client, boss, maxConcurrency=10)
    bulk = await client.post(
        "/v1/jobs",
        json={"type": "BULK_DELETE", "input": {"filter": {"q": "x"}}, "priority": 10},
        headers=boss.headers,
    )
    assert bulk.status_code == 201, bulk.text
    assert await claim(client, agent) is None  # the only job waiting is the worker's
    refused = await client.post(
        "/v1/agent/jobs/claim", json={"types": ["BULK_DELETE"]}, headers=agent.headers
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "capability_missing"
    search = await create_job(client, boss)
    claimed = await claim(client, agent)
    assert claimed is not None
    assert claimed["job"]["id"] == search["id"]  # despite the bulk job's higher priority

    async def nothing(unit: object) -> dict[str, object]:
        return {"matched": 0, "changed": 0}

    worker = make_worker({JobType.BULK_DELETE: nothing})
    await worker.run_until_idle()
    done = await client.get(f"/v1/jobs/{bulk.json()['id']}", headers=boss.headers)
    assert (done.json()["status"], done.json()["agentId"]) == ("COMPLETED", None)
    assert (await job_row(owner, uuid.UUID(search["id"])))["status"] == "RUNNING"


async def test_the_database_keeps_agents_off_server_run_types(owner: asyncpg.Connection) -> None:
    member = await create_tenant(owner, "a")
    agent_id = await owner.fetchval(
        "INSERT INTO agents (tenant_id, name, capabilities, token_hash, token_prefix)"
        " VALUES ($1, 'a', '{SEARCH}', '\\x01', 'lza_') RETURNING id",
        member.tenant_id,
    )
    with pytest.raises(asyncpg.CheckViolationError):
        await owner.execute(
            "UPDATE agents SET capabilities = '{SEARCH,IMPORT}' WHERE id = $1", agent_id
        )
    job_id = await add_job(owner, member, job_type="EXPORT", job_input={"format": "CSV"})
    with pytest.raises(asyncpg.CheckViolationError):
        await owner.execute("UPDATE jobs SET agent_id = $2 WHERE id = $1", job_id, agent_id)
    search = await add_job(owner, member, job_type="SEARCH", job_input={"query": "q"})
    with pytest.raises(asyncpg.CheckViolationError):
        await owner.execute("UPDATE jobs SET worker_id = 'w' WHERE id = $1", search)


async def _as_worker_role(
    owner: asyncpg.Connection, sql: str, *args: object, tenant: str | None = None
) -> object:
    tx = owner.transaction()
    await tx.start()
    try:
        await owner.execute(f"SET LOCAL ROLE {WORKER_ROLE}")
        if tenant is not None:
            await owner.execute("SELECT set_config('app.current_tenant_id', $1, true)", tenant)
        return await owner.fetchval(sql, *args)
    finally:
        await tx.rollback()


async def test_the_worker_role_sees_waiting_server_jobs_tenants_and_nothing_else(
    owner: asyncpg.Connection, make_worker: MakeWorker
) -> None:
    a, b = await create_tenant(owner, "a"), await create_tenant(owner, "b")
    await add_job(owner, a)
    await add_job(owner, b, job_type="SEARCH", job_input={"query": "q"})
    running = await add_job(owner, b)
    await owner.execute(
        "UPDATE jobs SET status = 'RUNNING', lease_id = gen_random_uuid(),"
        " lease_expires_at = now() + interval '1 minute' WHERE id = $1",
        running,
    )
    count = "SELECT count(*) FROM jobs"
    assert await _as_worker_role(owner, count) == 1
    # A tenant set opens no more (b's SEARCH and RUNNING jobs stay hidden): the restrictive
    # policy holds whatever the settings say.
    assert await _as_worker_role(owner, count, tenant=str(b.tenant_id)) == 1
    assert await _as_worker_role(owner, "SELECT tenant_id FROM jobs") == a.tenant_id
    for sql in (
        "SELECT input FROM jobs",
        "SELECT created_by_id FROM jobs",
        "SELECT count(*) FROM leads",
        "SELECT count(*) FROM memberships",
        "UPDATE jobs SET priority = 1",
        "DELETE FROM jobs",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await _as_worker_role(owner, sql)
    worker = make_worker({JobType.BULK_STATUS_UPDATE: LeadWriter(rows=1, per_batch=1)})
    claimed = await worker.claim()
    assert claimed is not None
    assert claimed[0].tenant_id == a.tenant_id
