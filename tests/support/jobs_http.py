"""Server-run jobs the way a client sees them: files uploaded with POST /v1/files, jobs created
with POST /v1/jobs, run by a real worker (the registered handlers, real leases) until none is
waiting, then read back with GET /v1/jobs/{id} and the files' downloads."""

from __future__ import annotations

import csv
import io
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from leedz.config import Settings
from leedz.worker.handlers import HANDLERS
from leedz.worker.worker import Worker
from tests.factories.accounts import Account


async def upload(
    client: httpx.AsyncClient,
    account: Account,
    name: str,
    content: bytes,
    *,
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        "/v1/files",
        files={"file": (name, content, content_type)},
        data={"purpose": "import"},
        headers=account.headers,
    )


async def uploaded(
    client: httpx.AsyncClient, account: Account, name: str, content: bytes
) -> dict[str, Any]:
    """The stored file (201 asserted)."""
    response = await upload(client, account, name, content)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_job(
    client: httpx.AsyncClient, account: Account, job_type: str, job_input: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/v1/jobs", json={"type": job_type, "input": job_input}, headers=account.headers
    )


async def work(app: FastAPI, settings: Settings) -> None:
    """Every waiting server-run job, run by a worker of the registered handlers."""
    worker = Worker(app.state.db, settings, HANDLERS)
    try:
        await worker.run_until_idle()
    finally:
        await worker.close()


async def job_done(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    account: Account,
    job_type: str,
    job_input: dict[str, Any],
) -> dict[str, Any]:
    """The job created (201 asserted), run, and read back with GET /v1/jobs/{id}."""
    created = await create_job(client, account, job_type, job_input)
    assert created.status_code == 201, created.text
    await work(app, settings)
    response = await client.get(f"/v1/jobs/{created.json()['id']}", headers=account.headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] in {"COMPLETED", "FAILED", "CANCELLED"}, job
    return job


async def download(client: httpx.AsyncClient, account: Account, file_id: str) -> httpx.Response:
    response = await client.get(f"/v1/files/{file_id}/download", headers=account.headers)
    assert response.status_code == 200, response.text
    return response


async def report(client: httpx.AsyncClient, account: Account, file_id: str) -> list[list[str]]:
    """An import's report CSV, header first."""
    response = await download(client, account, file_id)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def leads_by_name(owner: asyncpg.Connection, account: Account) -> dict[str, asyncpg.Record]:
    """Every leads row of the account's tenant (trash included), by name, read as the owner."""
    rows = await owner.fetch("SELECT * FROM leads WHERE tenant_id = $1::uuid", account.tenant_id)
    return {row["name"]: row for row in rows}
