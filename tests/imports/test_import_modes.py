"""The IMPORT job's core: rows into leads under each mode, with the report it writes."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.imports.support import Workspace, workspace


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


class TestCreate:
    async def test_rows_become_leads_with_source_import(self, ws: Workspace) -> None:
        run = await ws.run(
            [
                ["مطعم البيك", "0501234567", "info@albaik.example", "جدة"],
                ["Kudu", "+966 55 123 4567", "", "Riyadh"],
            ],
            mode="CREATE_ONLY",
        )
        assert run.output == {
            "rows": 2, "created": 2, "updated": 0, "joined": 0, "skipped": 0, "failed": 0,
            "reportFileId": run.output["reportFileId"],
        }  # fmt: skip
        leads = await ws.leads()
        assert [lead["name"] for lead in leads] == ["مطعم البيك", "Kudu"]
        assert leads[0]["phones"] == ["+966501234567"]
        assert leads[0]["source_type"] == "IMPORT"
        assert leads[0]["source_job_id"] == run.job_id
        assert run.report[0] == ["row", "action", "leadId", "error"]
        assert run.line(2) == {
            "row": "2", "action": "created", "leadId": str(leads[0]["id"]), "error": "",
        }  # fmt: skip
        entry: Any = await ws.owner.fetchrow(
            "SELECT type, details FROM lead_activities WHERE lead_id = $1", leads[0]["id"]
        )
        assert entry["type"] == "CREATED"
