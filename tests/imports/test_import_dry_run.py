"""A dry run stores nothing (no lead, key, list membership, tag, timeline entry or audit row)
and reports exactly what the real run then does, in-file duplicates across batches included."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.imports.support import Workspace, snapshot, workspace

# The job's own row (its status, checkpoint, output) and the report file are what a dry run
# writes; everything else of the tenant stays as it was.
JOB_BOOKKEEPING = {"jobs", "files"}

ROWS = [
    ["Kudu", "0501234567", "new@kudu.example", ""],  # updates the lead already there
    ["مطعم البيك", "0551234567", "", "جدة"],
    ["", "", "", ""],
    ["Al Baik", "+966 55 123 4567", "info@albaik.example", ""],  # row 3's business, next batch
    ["Bad", "12", "", ""],
    ["Herfy", "0561234567", "", "الرياض"],
    ["هرفي", "", "", "الرياض"],  # another spelling: same name key? no: a new lead
]


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    w = await workspace(client, app, owner)
    response = await w.client.post(
        "/v1/leads", json={"name": "Kudu", "phones": ["0501234567"], "tags": ["vip"]},
        headers=w.account.headers,
    )  # fmt: skip
    assert response.status_code == 201
    return w


async def a_list(ws: Workspace) -> str:
    response = await ws.client.post(
        "/v1/lists", json={"name": "Imported", "kind": "STATIC"}, headers=ws.account.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_dry_run_stores_nothing(ws: Workspace) -> None:
    list_id = await a_list(ws)
    before = await snapshot(ws.owner, ws.tenant_id, skip=JOB_BOOKKEEPING)
    run = await ws.run(ROWS, dry_run=True, batch_rows=3, tags=["spring"], list_id=list_id)
    assert run.output["rows"] == len(ROWS)
    assert await snapshot(ws.owner, ws.tenant_id, skip=JOB_BOOKKEEPING) == before
    assert "import_rows" in before  # the report lines were there, and are gone


async def test_a_dry_run_reports_what_the_real_run_does(ws: Workspace) -> None:
    list_id = await a_list(ws)
    options = {"batch_rows": 3, "tags": ["spring"], "list_id": list_id}
    dry = await ws.run(ROWS, dry_run=True, **options)  # type: ignore[arg-type]
    real = await ws.run(ROWS, **options)  # type: ignore[arg-type]
    assert {k: v for k, v in dry.output.items() if k != "reportFileId"} == {
        k: v for k, v in real.output.items() if k != "reportFileId"
    }
    assert dry.output["joined"] == 1  # row 5 is row 3's business, a batch later
    for d, r in zip(dry.lines, real.lines, strict=True):
        assert (d["row"], d["action"], d["error"]) == (r["row"], r["action"], r["error"])
        # A lead that exists is named; one the dry run only imagined is not.
        expected = "" if r["action"] in {"created", "joined"} else r["leadId"]
        if r["action"] == "updated" or r["error"] == "in_trash":
            expected = r["leadId"]
        assert d["leadId"] == expected
