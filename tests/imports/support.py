"""Running IMPORT jobs in-process (tests/support/work.py InlineUnit) against a real tenant.

A workspace is signed up through the API; its import jobs are real `jobs` rows (the report
lines reference them), run by `InlineUnit` with the rows given as lists of strings.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from leedz.access.roles import Role
from leedz.imports import job
from leedz.jobs.models import JobType
from leedz.jobs.schemas import ImportInput
from leedz.jobs.work import Cancelled
from leedz.kit.db import Database, Tx
from tests.factories.accounts import Account, on_plan, signup
from tests.support.work import InlineUnit

HEADER = ["الاسم", "الجوال", "البريد الإلكتروني", "المدينة"]
MAPPING = {"الاسم": "name", "الجوال": "phones", "البريد الإلكتروني": "emails", "المدينة": "city"}


def numbered(rows: Sequence[Sequence[str]]) -> list[tuple[int, list[str]]]:
    """Data rows as a spreadsheet numbers them: the header is row 1."""
    return [(n + 2, list(cells)) for n, cells in enumerate(rows)]


@dataclass
class Reports:
    """The job's own report store (files.store_generated), remembering what each report said:
    file id -> the CSV's rows (header first)."""

    files: dict[uuid.UUID, list[list[str]]] = field(default_factory=dict)

    async def store(self, tx: Tx, path: Path, name: str) -> uuid.UUID:
        raw = await asyncio.to_thread(path.read_bytes)
        assert raw.startswith(codecs.BOM_UTF8)
        file_id = await job.store_report(tx, path, name)
        self.files[file_id] = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        return file_id


@dataclass
class Workspace:
    client: httpx.AsyncClient
    database: Database
    owner: asyncpg.Connection
    account: Account
    reports: Reports = field(default_factory=Reports)

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.account.tenant_id)

    @property
    def user_id(self) -> uuid.UUID:
        return uuid.UUID(self.account.user_id)

    async def job_row(
        self, job_input: dict[str, Any], user_id: uuid.UUID | None = None
    ) -> uuid.UUID:
        job_id: uuid.UUID = await self.owner.fetchval(
            "INSERT INTO jobs (tenant_id, type, input, created_by_id, status, started_at)"
            " VALUES ($1, 'IMPORT', $2::jsonb, $3, 'RUNNING', now()) RETURNING id",
            self.tenant_id,
            json.dumps(job_input, ensure_ascii=False),
            user_id or self.user_id,
        )
        return job_id

    def unit(
        self,
        job_id: uuid.UUID,
        job_input: dict[str, Any],
        *,
        checkpoint: dict[str, Any] | None = None,
        role: Role = Role.OWNER,
        user_id: uuid.UUID | None = None,
        cancel_after: int | None = None,
    ) -> InlineUnit:
        return InlineUnit(
            self.database,
            tenant_id=self.tenant_id,
            user_id=user_id or self.user_id,
            role=role,
            job_type=JobType.IMPORT,
            job_input=job_input,
            checkpoint=checkpoint,
            cancel_after=cancel_after,
            job_id=job_id,
        )

    async def run(
        self,
        rows: Sequence[Sequence[str]],
        *,
        header: Sequence[str] = HEADER,
        batch_rows: int = 1000,
        complete: bool = True,
        **options: Any,
    ) -> Run:
        job_input = ImportInput.model_validate(
            {"fileId": str(uuid.uuid4()), "mapping": MAPPING} | options
        ).model_dump(mode="json", by_alias=True)
        job_id = await self.job_row(job_input)
        unit = self.unit(job_id, job_input)
        result = await job.import_rows(
            unit,
            ImportInput.model_validate(job_input),
            header,
            numbered(rows),
            store_report=self.reports.store,
            batch_rows=batch_rows,
        )
        assert not isinstance(result, Cancelled)
        if complete:
            await self.complete(job_id, result)
        return Run(
            job_id=job_id,
            output=result,
            report=self.reports.files[uuid.UUID(result["reportFileId"])],
        )

    async def complete(self, job_id: uuid.UUID, output: dict[str, Any]) -> None:
        await self.owner.execute(
            "UPDATE jobs SET status = 'COMPLETED', output = $2::jsonb, completed_at = now(),"
            " progress = 100 WHERE id = $1",
            job_id,
            json.dumps(output),
        )

    async def leads(self) -> list[asyncpg.Record]:
        return await self.owner.fetch(
            "SELECT * FROM leads WHERE tenant_id = $1 ORDER BY created_at, id", self.tenant_id
        )


@dataclass
class Run:
    job_id: uuid.UUID
    output: dict[str, Any]
    report: list[list[str]]

    @property
    def lines(self) -> list[dict[str, str]]:
        header, *rows = self.report
        return [dict(zip(header, row, strict=True)) for row in rows]

    def line(self, row: int) -> dict[str, str]:
        return next(line for line in self.lines if line["row"] == str(row))


async def workspace(
    client: httpx.AsyncClient, app: Any, owner: asyncpg.Connection, *, plan: str = "ENTERPRISE"
) -> Workspace:
    account = await signup(client)
    await on_plan(owner, account, plan)
    return Workspace(client=client, database=app.state.db, owner=owner, account=account)


async def snapshot(
    owner: asyncpg.Connection, tenant_id: object, *, skip: Collection[str] = ()
) -> dict[str, str]:
    """Every tenant table's rows of the tenant but those in `skip`, hashed (byte-identical or
    not)."""
    tables = await owner.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
        " AND column_name = 'tenant_id' ORDER BY table_name"
    )
    out: dict[str, str] = {}
    for t in tables:
        name = t["table_name"]
        if name in skip:
            continue
        out[name] = await owner.fetchval(
            f"SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)),"
            f" '') FROM {name} AS x WHERE tenant_id = $1",
            tenant_id,
        )
    return out
