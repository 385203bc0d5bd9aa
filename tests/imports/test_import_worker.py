"""An IMPORT job run by the worker itself (its loop, its leased units, the registered handlers),
whose file is not the job's tenant's to read: another tenant's upload, an expired one, a purged
one. The job fails with `file_not_found` at its first attempt and stores nothing, in either
tenant."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.config import Settings
from leedz.files.purge import FilePurger
from leedz.files.storage import LocalStorage, ObjectKey, current_storage
from leedz.worker.handlers import HANDLERS
from leedz.worker.worker import Worker
from tests.imports.support import Workspace, snapshot, workspace

CSV = "الاسم,الجوال\nمطعم البيك,0501234567\nكودو,0551234567\n".encode()
MAPPING = {"الاسم": "name", "الجوال": "phones"}
# Besides what the worker must not write, the tenant gets the job's row and its `job.created`
# audit row (the API's, at creation): those two are checked apart (`Before`).
JOB_ROW = {"jobs", "audit_logs"}


@pytest.fixture
async def worker(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient
) -> AsyncIterator[None]:
    """The worker's loop (`Worker.run`, as `leedz serve` and `leedz worker` run it) with the
    real handlers, over the app's pool and event bus: a created job wakes it."""
    running = Worker(
        app.state.db, settings.model_copy(update={"worker_poll_seconds": 0.1}), HANDLERS
    )
    task = asyncio.create_task(running.run())
    try:
        yield
    finally:
        running.request_stop()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def ours(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


@pytest.fixture
async def theirs(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


async def upload(ws: Workspace) -> dict[str, Any]:
    response = await ws.client.post(
        "/v1/files",
        files={"file": ("leads.csv", CSV, "text/csv")},
        data={"purpose": "import"},
        headers=ws.account.headers,
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def imported(ws: Workspace, file_id: str) -> dict[str, Any]:
    """Create the IMPORT job through the API; the job as stored once the worker ended it."""
    created = await ws.client.post(
        "/v1/jobs",
        json={"type": "IMPORT", "input": {"fileId": file_id, "mapping": MAPPING}},
        headers=ws.account.headers,
    )
    assert created.status_code == 201, created.text
    job_id = uuid.UUID(created.json()["id"])
    async with asyncio.timeout(30):
        while True:
            row = await ws.owner.fetchrow(
                "SELECT status, attempts, worker_id, error FROM jobs WHERE id = $1", job_id
            )
            assert row is not None
            if row["status"] not in ("PENDING", "RUNNING"):
                break
            await asyncio.sleep(0.05)
    return {**row, "error": json.loads(row["error"]) if row["error"] else None}


async def audit_actions(ws: Workspace) -> list[str]:
    rows = await ws.owner.fetch(
        "SELECT event_type FROM audit_logs WHERE tenant_id = $1 ORDER BY created_at, id",
        ws.tenant_id,
    )
    return [r["event_type"] for r in rows]


class Before:
    """A tenant as it was: every tenant table but the job's bookkeeping, and its audit trail."""

    def __init__(self, tables: dict[str, str], actions: list[str]) -> None:
        self.tables, self.actions = tables, actions

    @classmethod
    async def of(cls, ws: Workspace) -> Before:
        return cls(await snapshot(ws.owner, ws.tenant_id, skip=JOB_ROW), await audit_actions(ws))

    async def assert_unchanged(self, ws: Workspace, *, jobs_created: int = 0) -> None:
        assert await snapshot(ws.owner, ws.tenant_id, skip=JOB_ROW) == self.tables
        assert await audit_actions(ws) == self.actions + ["job.created"] * jobs_created


def not_found(file_id: str) -> dict[str, Any]:
    return {
        "code": "file_not_found",
        "message": "No such file (or it has expired)",
        "attempts": 1,
        "fileId": file_id,
    }


async def test_another_tenants_file_fails_the_job_and_stores_nothing(
    worker: None, ours: Workspace, theirs: Workspace
) -> None:
    their_file = await upload(theirs)
    # Their upload works for them: the file is sound, only its tenant is wrong for us.
    assert their_file["detected"]["suggestedMapping"] == MAPPING
    before = {"ours": await Before.of(ours), "theirs": await Before.of(theirs)}
    job = await imported(ours, their_file["id"])
    assert job["status"] == "FAILED"
    assert job["worker_id"] is not None  # the worker ran it, under a lease
    assert job["error"] == not_found(their_file["id"])
    assert job["attempts"] == 1  # a LeedzError: never retried
    # No lead, report file, import line or audit row in ours; their file untouched (not even
    # its last use), nothing of theirs changed.
    await before["ours"].assert_unchanged(ours, jobs_created=1)
    await before["theirs"].assert_unchanged(theirs)
    assert (
        await theirs.owner.fetchval(
            "SELECT count(*) FROM jobs WHERE tenant_id = $1", theirs.tenant_id
        )
        == 0
    )
    assert await theirs.leads() == []
    assert await ours.leads() == []
    # And it is theirs still: their own import of it works.
    their_job = await imported(theirs, their_file["id"])
    assert (their_job["status"], their_job["error"]) == ("COMPLETED", None)
    assert {lead["name"] for lead in await theirs.leads()} == {"مطعم البيك", "كودو"}
    assert await ours.leads() == []


async def test_an_expired_upload_fails_the_job_and_stores_nothing(
    worker: None, ours: Workspace
) -> None:
    stored = await upload(ours)
    await ours.owner.execute(
        "UPDATE files SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid",
        stored["id"],
    )
    before = await Before.of(ours)
    job = await imported(ours, stored["id"])
    assert (job["status"], job["error"]) == ("FAILED", not_found(stored["id"]))
    # Not brought back to life by the attempt: its expiry stays in the past.
    await before.assert_unchanged(ours, jobs_created=1)
    assert await ours.leads() == []


async def test_a_purged_upload_fails_the_job_and_stores_nothing(
    worker: None, ours: Workspace, app: FastAPI
) -> None:
    stored = await upload(ours)
    row = await ours.owner.fetchrow(
        "SELECT storage_key FROM files WHERE id = $1::uuid", stored["id"]
    )
    assert row is not None
    await ours.owner.execute(
        "UPDATE files SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid",
        stored["id"],
    )
    purger = FilePurger(
        app.state.db, current_storage(), role=app.state.settings.db_purger_role, interval=60
    )
    assert (await purger.purge_once()).files >= 1
    storage = current_storage()
    assert isinstance(storage, LocalStorage)
    assert not await storage.exists(ObjectKey.parse(row["storage_key"]))
    before = await Before.of(ours)
    job = await imported(ours, stored["id"])
    assert (job["status"], job["error"]) == ("FAILED", not_found(stored["id"]))
    await before.assert_unchanged(ours, jobs_created=1)
    assert await ours.leads() == []


async def test_a_file_whose_content_is_gone_fails_the_job(worker: None, ours: Workspace) -> None:
    """The row is there, the object not (a store lost it): still a clear failure, not a bug."""
    stored = await upload(ours)
    row = await ours.owner.fetchrow(
        "SELECT storage_key FROM files WHERE id = $1::uuid", stored["id"]
    )
    assert row is not None
    await current_storage().delete(ObjectKey.parse(row["storage_key"]))
    job = await imported(ours, stored["id"])
    assert job["status"] == "FAILED"
    assert job["error"] == {
        **not_found(stored["id"]),
        "message": "The file's content is gone",
    }
    assert job["attempts"] == 1
    assert await ours.leads() == []
