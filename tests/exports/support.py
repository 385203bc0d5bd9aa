"""Running an export in-process (tests/support/work.py) and reading its file back."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import openpyxl  # type: ignore[import-untyped]
from fastapi import FastAPI

from leedz.access.roles import Role
from leedz.exports import job
from leedz.files import service as files
from leedz.files.models import FilePurpose
from leedz.jobs.models import JobType
from leedz.jobs.work import Cancelled
from tests.factories.accounts import Account
from tests.support.work import InlineUnit


def unit(
    app: FastAPI,
    account: Account,
    job_input: dict[str, Any],
    *,
    role: Role = Role.OWNER,
    **options: Any,
) -> InlineUnit:
    return InlineUnit(
        app.state.db,
        tenant_id=uuid.UUID(account.tenant_id),
        user_id=uuid.UUID(account.user_id),
        role=role,
        job_type=JobType.EXPORT,
        job_input=job_input,
        **options,
    )


async def run(
    app: FastAPI,
    account: Account,
    job_input: dict[str, Any],
    *,
    role: Role = Role.OWNER,
    fetch_rows: int = 2,
    progress_rows: int = 2,
    **options: Any,
) -> dict[str, Any] | Cancelled:
    """The export's output (small batches, so that every test crosses several)."""
    return await job.export(
        unit(app, account, job_input, role=role, **options),
        fetch_rows=fetch_rows,
        progress_rows=progress_rows,
    )


async def export_files(owner: asyncpg.Connection, account: Account) -> list[asyncpg.Record]:
    """The tenant's EXPORT files (read as the database owner)."""
    return await owner.fetch(
        "SELECT id, name, size, content_type, format, created_by_id, expires_at - created_at"
        " AS lifetime FROM files WHERE tenant_id = $1::uuid AND purpose = 'EXPORT'",
        account.tenant_id,
    )


@asynccontextmanager
async def exported(app: FastAPI, account: Account, output: dict[str, Any]) -> AsyncIterator[Path]:
    """The export's file, through the files feature, as the account's user."""
    async with (
        app.state.db.transaction(
            tenant_id=uuid.UUID(account.tenant_id), user_id=uuid.UUID(account.user_id)
        ) as tx,
        files.local_copy(
            tx, file_id=uuid.UUID(output["fileId"]), purpose=FilePurpose.EXPORT
        ) as path,
    ):
        yield path


async def csv_of(app: FastAPI, account: Account, output: dict[str, Any]) -> list[list[str]]:
    async with exported(app, account, output) as path:
        return csv_rows(path)


async def xlsx_of(app: FastAPI, account: Account, output: dict[str, Any]) -> Any:
    async with exported(app, account, output) as path:
        return xlsx_sheet(path)


def csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark"
    assert b"\n" not in raw.replace(b"\r\n", b""), "a line end other than CRLF"
    text = raw[3:].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_sheet(path: Path) -> Any:
    with path.open("rb") as source:  # (a stored copy has no .xlsx to go by)
        return openpyxl.load_workbook(source).active


def records(header: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(header, row, strict=True)) for row in rows]
