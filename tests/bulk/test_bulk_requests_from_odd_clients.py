"""Bulk jobs as a client we never saw asks for them, through POST /v1/jobs and a real worker:
an empty selection, more ids than allowed, ids that are no UUID or another tenant's, and a
SALES member while the workspace hides other members' leads."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.config import Settings
from tests.bulk.support import raw_leads, states
from tests.factories.accounts import Account, member, on_plan, signup
from tests.support.jobs_http import create_job, job_done


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The production body limit (1 MB): 10,000 ids are about 390 KB of JSON."""
    return settings.model_copy(update={"max_body_bytes": 1_048_576})


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client)
    await on_plan(owner, account, "PRO")
    return account


@pytest.mark.parametrize("job_type", ["BULK_STATUS_UPDATE", "BULK_DELETE"])
@pytest.mark.parametrize(
    "selection",
    [
        {"leadIds": []},
        {"leadIds": [str(uuid.uuid4()) for _ in range(10_001)]},
        {"leadIds": ["not-a-uuid"]},
        {"leadIds": "all"},
        {"filter": {"deleted": True}},
        {"filter": {"status": ["NOT_A_STATUS"]}},
        {"listId": "not-a-uuid"},
    ],
    ids=[
        "empty-ids",
        "10001-ids",
        "bad-id",
        "ids-not-a-list",
        "the-trash",
        "bad-status",
        "bad-list",
    ],
)
async def test_a_selection_refused_at_creation(
    client: httpx.AsyncClient,
    boss: Account,
    owner: asyncpg.Connection,
    job_type: str,
    selection: dict[str, Any],
) -> None:
    job_input = selection | ({"status": "WON"} if job_type == "BULK_STATUS_UPDATE" else {})
    response = await create_job(client, boss, job_type, job_input)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert await owner.fetchval("SELECT count(*) FROM jobs") == 0


@pytest.mark.parametrize("status", ["won", "", None, "DELETED"])
async def test_a_status_that_is_none(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, status: Any
) -> None:
    response = await create_job(client, boss, "BULK_STATUS_UPDATE", {"status": status})
    assert response.status_code == 422, response.text
    assert await owner.fetchval("SELECT count(*) FROM jobs") == 0


async def test_ten_thousand_ids_of_which_none_is_ours(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stranger = await signup(client, tenant_name="Other Co")
    theirs = await raw_leads(owner, stranger, 3)
    mine = await raw_leads(owner, boss, 2)
    ids = theirs + [str(uuid.uuid4()) for _ in range(10_000 - len(theirs))]
    before = await states(owner, theirs + mine)
    job = await job_done(client, app, settings, boss, "BULK_DELETE", {"leadIds": ids})
    assert job["status"] == "COMPLETED", job
    assert job["output"]["matched"] == 0
    assert job["output"]["changed"] == 0
    assert await states(owner, theirs + mine) == before


async def test_a_filter_that_selects_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    ids = await raw_leads(owner, boss, 3, city="Riyadh")
    before = await states(owner, ids)
    job = await job_done(
        client, app, settings, boss, "BULK_STATUS_UPDATE",
        {"status": "WON", "filter": {"city": "لا توجد"}},
    )  # fmt: skip
    assert job["status"] == "COMPLETED", job
    assert job["output"]["matched"] == 0
    assert await states(owner, ids) == before


async def test_sales_while_other_members_leads_are_hidden(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    response = await client.patch(
        "/v1/tenants/current", json={"settings": {"salesSeeAllLeads": False}},
        headers=boss.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    seller = await member(client, boss, "SALES")
    colleague = await member(client, boss, "SALES")
    own = await raw_leads(owner, boss, 2, owner_id=seller.user_id)
    unassigned = await raw_leads(owner, boss, 2)
    others = await raw_leads(owner, boss, 2, owner_id=colleague.user_id)
    bosses = await raw_leads(owner, boss, 2, owner_id=boss.user_id)
    hidden = others + bosses
    before = await states(owner, hidden)
    # By ids naming every lead, and by a filter naming the colleague: the same answer.
    for selection in (
        {"leadIds": own + unassigned + hidden},
        {},
        {"filter": {"ownerId": colleague.user_id}},
    ):
        job = await job_done(
            client, app, settings, seller, "BULK_STATUS_UPDATE", {"status": "WON", **selection}
        )
        assert job["status"] == "COMPLETED", job
        assert job["output"]["matched"] in {0, 4}, (selection, job["output"])
        assert await states(owner, hidden) == before
    after = await states(owner, own + unassigned)
    assert {row["status"] for row in after.values()} == {"WON"}
    # A bulk delete needs leads:delete, which SALES lacks: refused when the job is created.
    response = await create_job(client, seller, "BULK_DELETE", {"leadIds": own})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
