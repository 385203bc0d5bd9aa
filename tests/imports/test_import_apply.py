"""Tags, a list and an owner applied to the rows' leads, only as the job's creator could."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.access.roles import Role
from leedz.errors import Forbidden
from leedz.imports import job
from leedz.imports.service import ImportListNotFound, ImportListNotStatic
from leedz.jobs.schemas import ImportInput
from leedz.leads.service import OwnerNotMember
from tests.factories.accounts import member
from tests.imports.support import HEADER, MAPPING, Workspace, numbered, workspace


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


async def post(ws: Workspace, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await ws.client.post(path, json=body, headers=ws.account.headers)
    assert response.status_code in (200, 201), response.text
    out: dict[str, Any] = response.json()
    return out


async def nothing_stored(ws: Workspace) -> None:
    assert (
        await ws.owner.fetchval(
            "SELECT count(*) FROM leads WHERE tenant_id = $1 AND source_type = 'IMPORT'",
            ws.tenant_id,
        )
        == 0
    )
    assert (
        await ws.owner.fetchval(
            "SELECT count(*) FROM import_rows WHERE tenant_id = $1", ws.tenant_id
        )
        == 0
    )


ROWS = [["Kudu", "0501234567", "", ""], ["Herfy", "0551234567", "", ""]]


async def test_tags_list_and_owner_go_on_every_rows_lead(ws: Workspace) -> None:
    seller = await member(ws.client, ws.account, "SALES")
    listed = await post(ws, "/v1/lists", {"name": "Spring", "kind": "STATIC"})
    there = await post(ws, "/v1/leads", {"name": "Herfy", "phones": ["0551234567"]})
    await post(ws, f"/v1/lists/{listed['id']}/leads", {"leadIds": [there["id"]]})
    run = await ws.run(ROWS, tags=["spring", "Riyadh"], list_id=listed["id"],
                       owner_id=seller.user_id)  # fmt: skip
    assert [line["action"] for line in run.lines] == ["created", "updated"]
    leads = {lead["name"]: lead for lead in await ws.leads()}
    for lead in leads.values():
        assert lead["tags"] == ["spring", "Riyadh"]
        assert str(lead["owner_id"]) == seller.user_id
    members = await ws.owner.fetch(
        "SELECT lead_id FROM list_members WHERE list_id = $1::uuid", listed["id"]
    )
    assert {m["lead_id"] for m in members} == {lead["id"] for lead in leads.values()}
    lines = await ws.owner.fetch(
        "SELECT row_number, added_tags, listed FROM import_rows WHERE job_id = $1"
        " ORDER BY row_number",
        run.job_id,
    )
    assert [(r["added_tags"], r["listed"]) for r in lines] == [
        (["spring", "Riyadh"], True), (["spring", "Riyadh"], False),
    ]  # fmt: skip
    entry = await ws.owner.fetchrow(
        "SELECT details FROM lead_activities WHERE lead_id = $1 AND type = 'LISTED'",
        leads["Kudu"]["id"],
    )
    assert entry is not None
    assert json.loads(entry["details"])["jobId"] == str(run.job_id)


async def test_another_tenants_list_fails_the_job(
    ws: Workspace, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection
) -> None:
    other = await workspace(client, app, owner)
    foreign = await post(other, "/v1/lists", {"name": "Theirs", "kind": "STATIC"})
    with pytest.raises(ImportListNotFound):
        await ws.run(ROWS, list_id=foreign["id"])
    await nothing_stored(ws)
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM list_members WHERE list_id = $1::uuid", foreign["id"]
        )
        == 0
    )


async def test_another_tenants_member_is_no_owner(
    ws: Workspace, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection
) -> None:
    other = await workspace(client, app, owner)
    with pytest.raises(OwnerNotMember):
        await ws.run(ROWS, owner_id=other.account.user_id)
    await nothing_stored(ws)


async def test_a_dynamic_list_is_refused(ws: Workspace) -> None:
    dynamic = await post(
        ws, "/v1/lists", {"name": "Riyadh", "kind": "DYNAMIC", "filter": {"city": "Riyadh"}}
    )
    with pytest.raises(ImportListNotStatic):
        await ws.run(ROWS, list_id=dynamic["id"])
    await nothing_stored(ws)


async def test_a_creator_who_lost_the_permission_imports_nothing(ws: Workspace) -> None:
    seller = await member(ws.client, ws.account, "SALES")
    body = ImportInput.model_validate({"fileId": str(ws.tenant_id), "mapping": MAPPING})
    job_input = body.model_dump(mode="json", by_alias=True)
    seller_id = uuid.UUID(seller.user_id)
    job_id = await ws.job_row(job_input, user_id=seller_id)
    unit = ws.unit(job_id, job_input, role=Role.SALES, user_id=seller_id)
    with pytest.raises(Forbidden) as raised:
        await job.import_rows(unit, body, HEADER, numbered(ROWS), store_report=ws.reports.store)
    assert raised.value.extra["permission"] == "leads:import"
    await nothing_stored(ws)


async def test_an_update_never_takes_custom_fields_past_their_bounds(ws: Workspace) -> None:
    """A lead already holding 50 custom fields: a row adding a 51st fails, naming the field,
    and the lead is left as it was (PATCH would refuse the same)."""
    full = {f"k{n}": "v" for n in range(50)}
    body = {"name": "Kudu", "phones": ["0501234567"], "customFields": full}
    lead = await post(ws, "/v1/leads", body)
    run = await ws.run(
        [["Kudu", "0501234567", "more"]],
        header=["Name", "Phone", "Extra"],
        mapping={"Name": "name", "Phone": "phones", "Extra": "customFields.extra"},
        mode="CREATE_OR_UPDATE",
    )
    [line] = run.lines
    assert (line["action"], line["leadId"]) == ("failed", lead["id"])
    assert line["error"].startswith("customFields:")
    assert run.output["failed"] == 1
    stored = await ws.owner.fetchval(
        "SELECT custom_fields FROM leads WHERE id = $1", uuid.UUID(lead["id"])
    )
    assert json.loads(stored) == full
