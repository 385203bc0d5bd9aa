"""Running an export in-process (tests/support/work.py) and reading its file back."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from fastapi import FastAPI

from leedz.access.roles import Role
from leedz.exports import job, service
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


def stored_files(account: Account) -> list[Path]:
    folder = service.exports_dir() / account.tenant_id
    return sorted(folder.iterdir()) if folder.exists() else []


def file_of(account: Account, output: dict[str, Any]) -> Path:
    (found,) = [p for p in stored_files(account) if p.name.startswith(output["fileId"])]
    return found


def csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark"
    text = raw[3:].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_sheet(path: Path) -> Any:
    return openpyxl.load_workbook(path).active


def records(header: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(header, row, strict=True)) for row in rows]
