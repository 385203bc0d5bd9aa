"""POST /v1/jobs/{id}/revert: an import's leads to the trash, its tags and list memberships
off, nothing else; once."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.factories.accounts import member
from tests.imports.support import Workspace, workspace

ROWS = [
    ["Kudu", "0501234567", "", ""],  # updates the lead already there
    ["مطعم البيك", "0551234567", "", "جدة"],
    ["Herfy", "0561234567", "", ""],
]


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


async def post(ws: Workspace, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await ws.client.post(path, json=body, headers=ws.account.headers)


async def setup(ws: Workspace) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """A lead with a tag on a list, then an import that tags, lists and creates."""
    listed = (await post(ws, "/v1/lists", {"name": "Spring", "kind": "STATIC"})).json()
    kudu = (
        await post(ws, "/v1/leads", {"name": "Kudu", "phones": ["0501234567"], "tags": ["vip"]})
    ).json()
    other = (await post(ws, "/v1/leads", {"name": "Maestro", "phones": ["0571234567"]})).json()
    added = await post(ws, f"/v1/lists/{listed['id']}/leads", {"leadIds": [other["id"]]})
    assert added.status_code == 200, added.text
    run = await ws.run(
        [*ROWS, ["Maestro", "0571234567", "", ""]], tags=["spring", "VIP"], list_id=listed["id"]
    )
    return listed, kudu, run


async def test_revert_takes_back_what_the_import_did(ws: Workspace) -> None:
    listed, _kudu, run = await setup(ws)
    response = await post(ws, f"/v1/jobs/{run.job_id}/revert")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "jobId": str(run.job_id), "trashed": 2, "kept": 0, "untagged": 2, "unlisted": 3,
    }  # fmt: skip
    leads = {lead["name"]: lead for lead in await ws.leads()}
    assert leads["مطعم البيك"]["deleted_at"] is not None
    assert leads["Herfy"]["deleted_at"] is not None
    assert leads["Kudu"]["deleted_at"] is None
    assert leads["Kudu"]["tags"] == ["vip"]  # its own tag stays; the import's "spring" goes
    assert leads["Maestro"]["tags"] == []
    members = await ws.owner.fetch(
        "SELECT lead_id FROM list_members WHERE list_id = $1::uuid", listed["id"]
    )
    assert [m["lead_id"] for m in members] == [leads["Maestro"]["id"]]  # it was there before
    audit = await ws.owner.fetchval(
        "SELECT count(*) FROM audit_logs WHERE tenant_id = $1 AND event_type = 'import.reverted'",
        ws.tenant_id,
    )
    assert audit == 1
    restored = await ws.client.post(
        f"/v1/leads/{leads['Herfy']['id']}/restore", headers=ws.account.headers
    )
    assert restored.status_code == 200, restored.text


async def test_a_second_revert_is_a_conflict(ws: Workspace) -> None:
    _, _, run = await setup(ws)
    assert (await post(ws, f"/v1/jobs/{run.job_id}/revert")).status_code == 200
    again = await post(ws, f"/v1/jobs/{run.job_id}/revert")
    assert again.status_code == 409
    assert again.json()["code"] == "import_already_reverted"


async def test_a_lead_merged_since_is_kept(ws: Workspace) -> None:
    _, kudu, run = await setup(ws)
    baik = run.line(3)["leadId"]
    merged = await ws.client.post(
        f"/v1/leads/{kudu['id']}/merge", json={"leadIds": [baik]}, headers=ws.account.headers
    )
    assert merged.status_code == 200, merged.text
    response = await post(ws, f"/v1/jobs/{run.job_id}/revert")
    assert response.json()["trashed"] == 1
    assert response.json()["kept"] == 1


async def test_another_tenants_import_is_not_found(
    ws: Workspace, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection
) -> None:
    _, _, run = await setup(ws)
    other = await workspace(client, app, owner)
    response = await post(other, f"/v1/jobs/{run.job_id}/revert")
    assert response.status_code == 404
    assert all(lead["deleted_at"] is None for lead in await ws.leads())


async def test_sales_may_not_revert(ws: Workspace) -> None:
    _, _, run = await setup(ws)
    seller = await member(ws.client, ws.account, "SALES")
    response = await ws.client.post(f"/v1/jobs/{run.job_id}/revert", headers=seller.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_a_dry_run_or_a_running_import_is_not_revertible(ws: Workspace) -> None:
    dry = await ws.run(ROWS, dry_run=True)
    response = await post(ws, f"/v1/jobs/{dry.job_id}/revert")
    assert (response.status_code, response.json()["code"]) == (409, "import_not_revertible")
    running = await ws.run(ROWS, complete=False)
    response = await post(ws, f"/v1/jobs/{running.job_id}/revert")
    assert (response.status_code, response.json()["code"]) == (409, "import_not_revertible")


async def test_a_search_job_is_no_import(ws: Workspace) -> None:
    job = await post(ws, "/v1/jobs", {"type": "SEARCH", "input": {"query": "coffee"}})
    assert job.status_code == 201, job.text
    response = await post(ws, f"/v1/jobs/{job.json()['id']}/revert")
    assert response.status_code == 404


async def test_a_cancelled_import_takes_back_what_it_committed(ws: Workspace) -> None:
    """A cancel (or a failure) keeps the batches an import committed: revert takes them back."""
    run = await ws.run(ROWS, batch_rows=1, complete=False)
    await ws.owner.execute(
        "UPDATE jobs SET status = 'CANCELLED', completed_at = now() WHERE id = $1", run.job_id
    )
    created = run.output["created"]
    assert created >= 1
    response = await post(ws, f"/v1/jobs/{run.job_id}/revert")
    assert response.status_code == 200, response.text
    assert response.json()["trashed"] == created
    again = await post(ws, f"/v1/jobs/{run.job_id}/revert")
    assert (again.status_code, again.json()["code"]) == (409, "import_already_reverted")
