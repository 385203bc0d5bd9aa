"""End to end: a generated CSV or XLSX with Arabic headers, uploaded through POST /v1/files,
imported by the job's handler (`job.run`) with the mapping the upload suggested, its report
downloaded back."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
import xlsxwriter  # type: ignore[import-untyped]  # no stubs, no py.typed
from fastapi import FastAPI

from leedz.imports import job
from leedz.jobs.schemas import ImportInput
from tests.imports.support import Workspace, workspace

HEADER = ["الاسم", "الجوال", "البريد الإلكتروني", "المدينة", "ملاحظات"]
ROWS = [
    ["مطعم البيك", "0501234567", "info@albaik.example", "جدة", "=1+1"],
    ["Al Baik", "+966 50 123 4567", "", "Jeddah", ""],  # the same business
    ["", "", "", "", ""],
    ["كودو", "٠٥٥١٢٣٤٥٦٧ / 0561234567", "", "الرياض", "فرع\nالعليا"],
    ["هرفي", "123", "", "الرياض", ""],
]


def csv_bytes(encoding: str = "utf-8-sig", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADER)
    writer.writerows(ROWS)
    return out.getvalue().encode(encoding)


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("عملاء")
    for r, row in enumerate([HEADER, *ROWS]):
        for c, value in enumerate(row):
            if value:
                sheet.write_string(r, c, value)
    book.close()
    return out.getvalue()


@pytest.fixture
async def ws(client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection) -> Workspace:
    return await workspace(client, app, owner)


async def upload(ws: Workspace, name: str, content: bytes) -> dict[str, Any]:
    response = await ws.client.post(
        "/v1/files",
        files={"file": (name, content, "application/octet-stream")},
        data={"purpose": "import"},
        headers=ws.account.headers,
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def imported(ws: Workspace, name: str, content: bytes, **options: Any) -> dict[str, Any]:
    stored = await upload(ws, name, content)
    mapping = stored["detected"]["suggestedMapping"]
    assert mapping == {
        "الاسم": "name", "الجوال": "phones", "البريد الإلكتروني": "emails", "المدينة": "city",
        "ملاحظات": "customFields.notes",
    }  # fmt: skip
    body = ImportInput.model_validate({"fileId": stored["id"], "mapping": mapping} | options)
    job_input = body.model_dump(mode="json", by_alias=True)
    job_id = await ws.job_row(job_input)
    output = await job.run(ws.unit(job_id, job_input))
    assert isinstance(output, dict)
    return output


async def report(ws: Workspace, file_id: str) -> list[list[str]]:
    response = await ws.client.get(f"/v1/files/{file_id}/download", headers=ws.account.headers)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("عملاء.csv", csv_bytes()),
        ("leads.csv", csv_bytes("utf-8", ";")),
        ("leads.txt", csv_bytes("utf-16", "\t")),
        ("leads.xlsx", xlsx_bytes()),
    ],
    ids=["utf8-bom", "utf8-semicolon", "utf16-tab", "xlsx"],
)
async def test_a_file_with_arabic_headers(ws: Workspace, name: str, content: bytes) -> None:
    output = await imported(ws, name, content)
    assert {k: v for k, v in output.items() if k != "reportFileId"} == {
        "rows": 5, "created": 2, "updated": 0, "joined": 1, "skipped": 1, "failed": 1,
    }  # fmt: skip
    leads = {lead["name"]: lead for lead in await ws.leads()}
    assert set(leads) == {"مطعم البيك", "كودو"}
    assert leads["مطعم البيك"]["phones"] == ["+966501234567"]
    assert leads["كودو"]["phones"] == ["+966551234567", "+966561234567"]
    assert leads["كودو"]["city"] == "الرياض"
    # A formula is text, stored as typed; a line break inside a cell stays in a custom field.
    assert json.loads(leads["مطعم البيك"]["custom_fields"]) == {"notes": "=1+1"}
    assert json.loads(leads["كودو"]["custom_fields"]) == {"notes": "فرع\nالعليا"}
    lines = await report(ws, output["reportFileId"])
    assert lines[0] == ["row", "action", "leadId", "error"]
    assert [(line[0], line[1]) for line in lines[1:]] == [
        ("2", "created"), ("3", "joined"), ("4", "skipped"), ("5", "created"), ("6", "failed"),
    ]  # fmt: skip
    assert lines[2][2] == str(leads["مطعم البيك"]["id"])
    assert lines[5][3].startswith("phones: '123'")


async def test_a_windows_1256_csv(ws: Workspace) -> None:
    rows = [[cell.replace("٠٥٥١٢٣٤٥٦٧", "0551234567") for cell in row] for row in ROWS]
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    output = await imported(ws, "leads.csv", out.getvalue().encode("cp1256"))
    assert output["created"] == 2
    assert {lead["name"] for lead in await ws.leads()} == {"مطعم البيك", "كودو"}


async def test_a_dry_run_of_a_file(ws: Workspace) -> None:
    output = await imported(ws, "leads.xlsx", xlsx_bytes(), dryRun=True)
    assert output["created"] == 2
    assert output["joined"] == 1
    assert await ws.leads() == []
    lines = await report(ws, output["reportFileId"])
    assert [line[1] for line in lines[1:]] == ["created", "joined", "skipped", "created", "failed"]


async def test_a_missing_file_fails_the_job(ws: Workspace) -> None:
    body = ImportInput.model_validate({"fileId": str(uuid.uuid4()), "mapping": {"a": "name"}})
    job_input = body.model_dump(mode="json", by_alias=True)
    job_id = await ws.job_row(job_input)
    with pytest.raises(Exception, match="No such file") as raised:
        await job.run(ws.unit(job_id, job_input))
    assert getattr(raised.value, "code", None) == "file_not_found"
