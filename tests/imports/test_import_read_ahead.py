"""The next batch is read while one is at the database: what a batch reads still follows the
tenant's settings as that batch's transaction sees them, and a failure or a cancel leaves
nothing of the batch read ahead."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.imports import job
from leedz.jobs.schemas import ImportInput
from leedz.jobs.work import Cancelled
from tests.imports.support import HEADER, MAPPING, Workspace, numbered, workspace

# 050… is a mobile number in Saudi Arabia (+966) and in the Emirates (+971).
ROWS = [[f"Shop {n}", f"050123456{n}", "", ""] for n in range(6)]


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


async def _country(ws: Workspace, code: str) -> None:
    await ws.owner.execute(
        "UPDATE tenants SET default_country = $2 WHERE id = $1", ws.tenant_id, code
    )


async def test_a_batch_read_ahead_follows_a_default_country_changed_since(ws: Workspace) -> None:
    await _country(ws, "SA")

    async def rows() -> AsyncIterator[tuple[int, list[str]]]:
        for number, cells in numbered(ROWS):
            if number == 6:  # rows 4-5 (Shop 2, 3) were read ahead as SA; their batch not begun
                await _country(ws, "AE")
            yield number, cells

    body = ImportInput.model_validate({"fileId": str(uuid.uuid4()), "mapping": MAPPING})
    job_input = body.model_dump(mode="json", by_alias=True)
    unit = ws.unit(await ws.job_row(job_input), job_input)
    result = await job.import_rows(
        unit, body, HEADER, rows(), store_report=ws.reports.store, batch_rows=2
    )
    assert not isinstance(result, Cancelled)
    phones = {r["name"]: r["phones"] for r in await ws.leads()}
    assert phones == {
        "Shop 0": ["+966501234560"], "Shop 1": ["+966501234561"],
        "Shop 2": ["+971501234562"], "Shop 3": ["+971501234563"],
        "Shop 4": ["+971501234564"], "Shop 5": ["+971501234565"],
    }  # fmt: skip


class Boom(Exception):
    pass


async def test_a_failed_batch_leaves_the_one_read_ahead_unused(ws: Workspace) -> None:
    body = ImportInput.model_validate({"fileId": str(uuid.uuid4()), "mapping": MAPPING})
    job_input = body.model_dump(mode="json", by_alias=True)
    unit = ws.unit(await ws.job_row(job_input), job_input)
    calls = 0
    real = job._Import.batch

    async def failing(self: job._Import, ahead: job._ReadAhead) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Boom
        await real(self, ahead)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(job._Import, "batch", failing)
        with pytest.raises(Boom):
            await job.import_rows(
                unit, body, HEADER, numbered(ROWS), store_report=ws.reports.store, batch_rows=2
            )
    assert unit.checkpoint is not None
    assert unit.checkpoint["nextRow"] == 4
    assert sorted(r["name"] for r in await ws.leads()) == ["Shop 0", "Shop 1"]


async def test_cancel_after_the_first_batch_commits_it_only(ws: Workspace) -> None:
    body = ImportInput.model_validate({"fileId": str(uuid.uuid4()), "mapping": MAPPING})
    job_input = body.model_dump(mode="json", by_alias=True)
    unit = ws.unit(await ws.job_row(job_input), job_input, cancel_after=1)
    result = await job.import_rows(
        unit, body, HEADER, numbered(ROWS), store_report=ws.reports.store, batch_rows=2
    )
    assert isinstance(result, Cancelled)
    assert result.output["rows"] == 2
    assert sorted(r["name"] for r in await ws.leads()) == ["Shop 0", "Shop 1"]
