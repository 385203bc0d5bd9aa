"""EXPORT jobs as a client we never saw asks for them: POST /v1/jobs with odd `columns`, another
tenant's `leadIds`, a filter that selects nothing, hostile and number-like values, run by a real
worker and downloaded with GET /v1/files/{id}/download."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import asyncpg
import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest
from fastapi import FastAPI

from leedz.config import Settings
from leedz.exports.columns import field_of_header
from tests.factories.accounts import Account, member, on_plan, signup
from tests.factories.leads import create_lead
from tests.support.jobs_http import create_job, download, job_done


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="شركة التصدير")
    await on_plan(owner, account, "PRO")
    return account


async def exported(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    account: Account,
    job_input: dict[str, Any],
) -> tuple[dict[str, Any], httpx.Response]:
    job = await job_done(client, app, settings, account, "EXPORT", job_input)
    assert job["status"] == "COMPLETED", job
    return job["output"], await download(client, account, job["output"]["fileId"])


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content[3:].decode(), newline="")))


def _unescaped(value: Any) -> Any:
    """openpyxl leaves an inline string's `_x000D_` escapes (ECMA-376 ST_Xstring) as they are;
    Excel, and the import's python-calamine, read them as the character."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def xlsx_rows(response: httpx.Response) -> tuple[Any, list[list[Any]]]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows()]
    assert all(cell.data_type != "f" for row in rows for cell in row)
    return sheet, [[_unescaped(cell.value) for cell in row] for row in rows]


@pytest.mark.parametrize(
    ("columns", "where"),
    [
        (["name", "password_hash"], ["body", "input", "columns", 1]),
        (["name", "tenantId"], ["body", "input", "columns", 1]),
        ([""], ["body", "input", "columns", 0]),
        ([], ["body", "input", "columns"]),
        ("name", ["body", "input", "columns"]),
        (["customFields."], ["body", "input", "columns", 0]),
        ([1], ["body", "input", "columns", 0]),
    ],
)
async def test_columns_that_are_no_column_are_refused_at_creation(
    client: httpx.AsyncClient,
    boss: Account,
    owner: asyncpg.Connection,
    columns: Any,
    where: list[Any],
) -> None:
    response = await create_job(client, boss, "EXPORT", {"format": "CSV", "columns": columns})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert where in [error["loc"] for error in problem["errors"]], problem
    assert await owner.fetchval("SELECT count(*) FROM jobs") == 0


async def test_a_column_asked_twice_is_written_once(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, boss: Account
) -> None:
    await create_lead(client, boss, name="مطعم البيك", phones=["0501234567"])
    columns = ["phones", "name", "phones", "name", "customFields", "customFields"]
    _, response = await exported(client, app, settings, boss, {"format": "CSV", "columns": columns})
    header, row = csv_rows(response)
    assert [field_of_header(h) for h in header] == ["phones", "name"]
    assert row == ["+966501234567", "مطعم البيك"]


async def test_another_tenant_s_lead_ids_leak_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stranger = await signup(client, tenant_name="Other Co")
    await on_plan(owner, stranger, "PRO")
    theirs = await create_lead(client, stranger, name="Secret Lead", phones=["+966509999999"])
    mine = await create_lead(client, boss, name="مطعم البيك")
    ids = [theirs["id"], mine["id"], str(uuid.uuid4())]
    for export_format in ("CSV", "XLSX"):
        output, response = await exported(
            client, app, settings, boss, {"format": export_format, "leadIds": ids}
        )
        assert output["rows"] == 1
        assert b"Secret" not in response.content
        assert b"966509999999" not in response.content
    # Nor can the stranger's own export of the boss's ids show anything.
    output, response = await exported(
        client, app, settings, stranger, {"format": "CSV", "leadIds": [mine["id"]]}
    )
    assert output["rows"] == 0
    assert len(csv_rows(response)) == 1


async def test_a_selection_of_nothing_is_a_valid_file_with_a_header(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, boss: Account
) -> None:
    await create_lead(client, boss, name="مطعم البيك")
    nothing = {"filter": {"q": "لا يوجد شيء بهذا الاسم"}}
    output, response = await exported(client, app, settings, boss, {"format": "CSV", **nothing})
    assert output["rows"] == 0
    (header,) = csv_rows(response)
    assert header[:2] == ["المعرّف", "الاسم"] or field_of_header(header[1]) == "name"
    output, response = await exported(client, app, settings, boss, {"format": "XLSX", **nothing})
    assert output["rows"] == 0
    sheet, rows = xlsx_rows(response)
    assert len(rows) == 1
    assert field_of_header(rows[0][1]) == "name"
    assert sheet.sheet_view.rightToLeft is True  # the tenant speaks Arabic (the default)
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''leads-" in response.headers["content-disposition"]


HOSTILE = {
    "=1+1": "'=1+1",
    "+SUM(A1)": "'+SUM(A1)",
    "-A1": "'-A1",
    "@cmd": "'@cmd",
    "\uff1dHYPERLINK(1)": "'\uff1dHYPERLINK(1)",  # a full-width equals sign
    "+966501234567": "+966501234567",
    "-5": "-5",
    "+1 (650) 253-0000": "+1 (650) 253-0000",
    "عادي": "عادي",
}


@pytest.mark.parametrize("export_format", ["CSV", "XLSX"])
async def test_formula_triggers_are_defused_numbers_stay(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    export_format: str,
) -> None:
    custom = {f"v{i}": value for i, value in enumerate(HOSTILE)}
    custom |= {"tab": "\t=1+1", "cr": "\r=1+1"}
    await create_lead(client, boss, name='=HYPERLINK("http://evil")', customFields=custom)
    _, response = await exported(client, app, settings, boss, {"format": export_format})
    if export_format == "CSV":
        header, row = csv_rows(response)
    else:
        _, (header, row) = xlsx_rows(response)
    by_key = {field_of_header(h): v for h, v in zip(header, row, strict=True)}
    assert by_key["name"] == '\'=HYPERLINK("http://evil")'
    for i, (_value, shown) in enumerate(HOSTILE.items()):
        assert by_key[f"customFields.v{i}"] == shown
    assert by_key["customFields.tab"] == "'\t=1+1"
    assert by_key["customFields.cr"] == "'\r=1+1"


async def test_sales_may_neither_export_nor_download_another_s_export(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    seller = await member(client, boss, "SALES")
    await create_lead(client, boss, name="Boss Lead", ownerId=boss.user_id)
    response = await create_job(client, seller, "EXPORT", {"format": "CSV"})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert await owner.fetchval("SELECT count(*) FROM jobs WHERE type = 'EXPORT'") == 0
    job = await job_done(client, app, settings, boss, "EXPORT", {"format": "CSV"})
    for path in ("", "/download"):
        response = await client.get(
            f"/v1/files/{job['output']['fileId']}{path}", headers=seller.headers
        )
        assert response.status_code == 403, response.text
        assert b"Boss Lead" not in response.content
