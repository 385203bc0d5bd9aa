"""`leedz leads resolve`: evidence stored while resolution was off becomes the leads live
resolution makes; the run is resumable from its checkpoint and idempotent.

The evidence is uploaded through the REST twin of a server with `resolution=off` (what an
upload did before resolution existed): stored, linked to nothing."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.app import create_app
from leedz.config import Settings
from leedz.kit.db import Database
from leedz.resolution.backfill import TenantBackfill, backfill_tenant
from leedz.resolution.repository import Backfills
from tests.factories.accounts import Account
from tests.resolution.support import Workspace, live_leads, workspace
from tests.resolution.test_agents_in_processes import dataset, leads_of
from tests.support.live import LEEDZ, clean_env

BATCH = 25


@pytest.fixture
def off_app(settings: Settings, database_url: str) -> FastAPI:
    return create_app(settings.model_copy(update={"resolution": "off"}), database_url=database_url)


@pytest.fixture
async def off(off_app: FastAPI, owner: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server that stores evidence and resolves nothing."""
    transport = httpx.ASGITransport(app=off_app, raise_app_exceptions=False)
    async with (
        off_app.router.lifespan_context(off_app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def items() -> list[dict[str, Any]]:
    """160 records of 40 businesses, each twice (two agents' copies), in a shuffled order."""
    per_agent, _ = dataset()
    return [i for agent in per_agent for i in agent]


async def upload_all(ws: Workspace, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    job = await ws.job()
    return [await ws.upload(job, records[n : n + BATCH]) for n in range(0, len(records), BATCH)]


def tenant(account: Account) -> uuid.UUID:
    return uuid.UUID(account.tenant_id)


async def stored_only(
    off: httpx.AsyncClient,
    owner: asyncpg.Connection,
    *,
    plan: str | None = "ENTERPRISE",
    records: list[dict[str, Any]] | None = None,
) -> Workspace:
    """A workspace whose evidence was uploaded with resolution off."""
    ws = await workspace(off, owner, plan=plan)
    answers = await upload_all(ws, records or items())
    assert all(a["leads"] == [] for a in answers)
    assert await live_leads(owner, ws.account) == 0
    return ws


async def footprint(owner: asyncpg.Connection, account: Account) -> dict[str, Any]:
    """What a run could change: every lead's version and times, the timeline, provenance,
    audit rows, keys, the jobs' counters."""
    tenant_id = account.tenant_id
    queries = {
        "leads": "SELECT array_agg((id, version, updated_at, last_activity_at, merged_into_id)"
        " ORDER BY id)::text FROM leads WHERE tenant_id = $1::uuid",
        "activities": "SELECT count(*) FROM lead_activities WHERE tenant_id = $1::uuid",
        "links": "SELECT array_agg((lead_id, evidence_id, fields) ORDER BY evidence_id)::text"
        " FROM lead_evidence WHERE tenant_id = $1::uuid",
        "audit": "SELECT count(*) FROM audit_logs WHERE tenant_id = $1::uuid",
        "keys": "SELECT count(*) FROM lead_keys WHERE tenant_id = $1::uuid",
        "jobs": "SELECT array_agg(output::text ORDER BY id) FROM jobs WHERE tenant_id = $1::uuid",
        "merges": "SELECT count(*) FROM lead_merges WHERE tenant_id = $1::uuid",
    }
    return {name: await owner.fetchval(sql, tenant_id) for name, sql in queries.items()}


async def unlinked(owner: asyncpg.Connection, account: Account) -> int:
    count: int = await owner.fetchval(
        "SELECT count(*) FROM evidence v WHERE v.tenant_id = $1::uuid AND NOT EXISTS"
        " (SELECT 1 FROM lead_evidence e WHERE e.evidence_id = v.id)",
        account.tenant_id,
    )
    return count


class Interrupted(Exception):
    """Stands for the process being killed between two batches."""


async def test_backfill_makes_the_leads_live_resolution_makes(
    client: httpx.AsyncClient, off: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    records = items()
    live = await workspace(client, owner)
    answers = await upload_all(live, records)
    assert sum(len(a["leads"]) for a in answers) == len(records)
    old = await stored_only(off, owner)

    seen: list[TenantBackfill] = []
    done = await backfill_tenant(db, tenant(old.account), batch=50, on_batch=seen.append)
    assert (done.pending, done.done, done.batches) == (len(records), len(records), 7)
    assert [s.done for s in seen] == [50, 100, 150, 200, 250, 300, 320]
    assert (done.tally.created, done.tally.joined, done.tally.over_quota) == (40, 280, 0)
    assert await leads_of(owner, old.account) == await leads_of(owner, live.account)
    assert await unlinked(owner, old.account) == 0
    jobs = await owner.fetchval(
        "SELECT output::text FROM jobs WHERE tenant_id = $1::uuid", old.account.tenant_id
    )
    assert jobs == '{"leadsJoined": 280, "leadsCreated": 40}'
    actors = await owner.fetch(
        "SELECT DISTINCT type::text, actor_user_id, actor_agent_id FROM lead_activities"
        " WHERE tenant_id = $1::uuid ORDER BY 1",
        old.account.tenant_id,
    )
    assert [tuple(a) for a in actors] == [("CREATED", None, None), ("EVIDENCE_JOINED", None, None)]


async def test_a_second_run_changes_nothing(
    off: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    ws = await stored_only(off, owner)
    tenant_id = tenant(ws.account)
    first = await backfill_tenant(db, tenant_id, batch=100)
    before = await footprint(owner, ws.account)
    again = await backfill_tenant(db, tenant_id, batch=100)
    assert (again.pending, again.done, again.batches) == (0, 0, 0)
    assert again.total == first.total
    assert await footprint(owner, ws.account) == before


async def test_an_interrupted_run_and_the_rerun_make_one_run(
    off: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    whole, cut = await stored_only(off, owner), await stored_only(off, owner)
    await backfill_tenant(db, tenant(whole.account), batch=30)

    def die_after_three(state: TenantBackfill) -> None:
        if state.batches == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        await backfill_tenant(db, tenant(cut.account), batch=30, on_batch=die_after_three)
    assert await unlinked(owner, cut.account) == 320 - 90
    rest = await backfill_tenant(db, tenant(cut.account), batch=30)
    assert (rest.pending, rest.done, rest.total.resolved) == (230, 230, 320)
    assert await leads_of(owner, cut.account) == await leads_of(owner, whole.account)
    assert await footprint(owner, cut.account) | {"leads": None, "links": None, "jobs": None} == (
        await footprint(owner, whole.account) | {"leads": None, "links": None, "jobs": None}
    )


async def test_another_tenant_is_untouched_and_one_run_per_tenant(
    off: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    resolved, other = await stored_only(off, owner), await stored_only(off, owner)
    before = await footprint(owner, other.account)
    async with db.transaction(tenant_id=tenant(resolved.account)) as tx:
        assert await Backfills(tx).try_lock()
        held = await backfill_tenant(db, tenant(resolved.account))
    assert held.busy
    assert held.done == 0
    done = await backfill_tenant(db, tenant(resolved.account))
    assert done.tally.created == 40
    assert await footprint(owner, other.account) == before
    assert await unlinked(owner, other.account) == 320
    checkpoints = await owner.fetchval(
        "SELECT count(*) FROM resolution_backfills WHERE tenant_id = $1::uuid",
        other.account.tenant_id,
    )
    assert checkpoints == 0


async def test_over_quota_evidence_makes_no_lead_and_restart_retries_it(
    off: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    ws = await stored_only(off, owner, plan=None)  # FREE: 100 leads
    await owner.execute(
        "INSERT INTO leads (tenant_id, name, source_type)"
        " SELECT $1::uuid, 'lead ' || n, 'MANUAL' FROM generate_series(1, 90) AS n",
        ws.account.tenant_id,
    )
    done = await backfill_tenant(db, tenant(ws.account), batch=40)
    assert done.tally.created == 10
    assert done.tally.over_quota > 0
    assert await live_leads(owner, ws.account) == 100
    # Room again: a plain run does nothing more (past the checkpoint); --restart retries.
    await owner.execute(
        "DELETE FROM leads WHERE tenant_id = $1::uuid AND name LIKE 'lead %'",
        ws.account.tenant_id,
    )
    assert (await backfill_tenant(db, tenant(ws.account))).done == 0
    again = await backfill_tenant(db, tenant(ws.account), restart=True)
    assert again.tally.created == 30
    assert again.tally.over_quota == 0
    assert await live_leads(owner, ws.account) == 40
    assert await unlinked(owner, ws.account) == 0


def _resolve_command(
    database_url: str, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {**clean_env(tmp_path), "DATABASE_URL": database_url}
    return subprocess.run(
        [*LEEDZ, "leads", "resolve", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=os.getcwd(),
    )


async def test_the_command_prints_progress_and_a_summary(
    off: httpx.AsyncClient, owner: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    ws = await stored_only(off, owner, records=items()[:60])
    tenant_id = ws.account.tenant_id
    run = _resolve_command(database_url, tmp_path, "--tenant", tenant_id, "--batch-size", "25")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert f"workspace {tenant_id}" in lines
    assert f"  {tenant_id}: 25/60 items, created" in run.stdout
    assert lines[-1].startswith("resolved 60 evidence items in 1 workspaces:")
    again = _resolve_command(database_url, tmp_path, "--tenant", tenant_id)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == (
        "resolved 0 evidence items in 1 workspaces: 0 leads created, 0 joins, 0 over quota"
    )
    wrong = _resolve_command(database_url, tmp_path, "--tenant", "nope")
    assert wrong.returncode == 2
    assert "not a workspace id" in wrong.stderr
