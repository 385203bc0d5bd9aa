"""`resolve_stored`: evidence already stored (before resolution ran, or left over) resolved by id,
the way uploads are — the entry point of a backfill."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from leedz.config import Settings
from leedz.evidence.schemas import LeadAction
from leedz.kit.db import Database
from leedz.resolution.service import ResolvingActor, resolve_stored
from tests.factories.jobs import TenantJob, create_tenant_with_job


@pytest.fixture
async def db(
    settings: Settings, database_url: str, owner: asyncpg.Connection
) -> AsyncIterator[Database]:
    database = Database(settings, database_url)
    await database.start()
    yield database
    await database.dispose()


async def stored(
    owner: asyncpg.Connection, tenant: TenantJob, raw: dict[str, Any], *, kind: str = "CONTACT_INFO"
) -> uuid.UUID:
    """An evidence row written directly, as if stored before resolution existed."""
    evidence_id: uuid.UUID = await owner.fetchval(
        "INSERT INTO evidence (tenant_id, job_id, type, title, source, snippet, confidence,"
        " raw_data, hash, size_bytes, collected_at) VALUES ($1, $2, $3::evidence_type, 't',"
        " 'test', '', 'MEDIUM', $4::jsonb, md5(random()::text), 1, now()) RETURNING id",
        tenant.tenant_id,
        tenant.job_id,
        kind,
        json.dumps(raw),
    )
    return evidence_id


async def test_stored_evidence_resolves_once(db: Database, owner: asyncpg.Connection) -> None:
    tenant = await create_tenant_with_job(owner, "backfill")
    other = await create_tenant_with_job(owner, "other")
    first = await stored(owner, tenant, {"name": "مكتبة جرير", "phone": "0114627000"})
    second = await stored(owner, tenant, {"name": "Jarir Bookstore", "phones": ["+966114627000"]})
    review = await stored(owner, tenant, {"name": "x", "phone": "0114627000"}, kind="REVIEW")
    foreign = await stored(owner, other, {"name": "مكتبة جرير", "phone": "0114627000"})
    ids = [first, second, review, foreign, uuid.uuid4()]
    async with db.transaction(tenant_id=tenant.tenant_id) as tx:
        results = await resolve_stored(tx, ids, actor=ResolvingActor(user_id=tenant.user_id))
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert [r.action for r in results] == [
        LeadAction.CREATED, LeadAction.JOINED, LeadAction.SKIPPED, LeadAction.SKIPPED,
        LeadAction.SKIPPED,
    ]  # fmt: skip
    assert results[0].lead_id == results[1].lead_id
    async with db.transaction(tenant_id=tenant.tenant_id) as tx:
        again = await resolve_stored(tx, ids[:2])
    assert [r.action for r in again] == [LeadAction.UNCHANGED] * 2
    row = await owner.fetchrow(
        "SELECT source_type::text AS source, source_job_id, phones FROM leads WHERE id = $1",
        results[0].lead_id,
    )
    assert row is not None
    assert (row["source"], row["source_job_id"], row["phones"]) == (
        "SEARCH", tenant.job_id, ["+966114627000"],
    )  # fmt: skip
    actor = await owner.fetchval(
        "SELECT actor_user_id FROM lead_activities WHERE lead_id = $1 AND type = 'CREATED'",
        results[0].lead_id,
    )
    assert actor == tenant.user_id
    output = await owner.fetchval("SELECT output FROM jobs WHERE id = $1", tenant.job_id)
    assert json.loads(output) == {"leadsCreated": 1, "leadsJoined": 1}
    assert (
        await owner.fetchval("SELECT count(*) FROM leads WHERE tenant_id = $1", other.tenant_id)
        == 0
    )
