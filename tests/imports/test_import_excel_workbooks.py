"""Workbooks as spreadsheet programs write them, uploaded through POST /v1/files and imported
with POST /v1/jobs by a real worker: several sheets, merged cells, dates, phones stored as
floats, formulas with cached values, shared and inline strings, blank and repeated headers."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from typing import Any

import asyncpg
import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest
import xlsxwriter  # type: ignore[import-untyped]  # no stubs, no py.typed
from fastapi import FastAPI

from leedz.config import Settings
from tests.factories.accounts import Account, on_plan, signup
from tests.support.jobs_http import job_done, leads_by_name, report, upload, uploaded


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="مؤسسة الجداول")
    await on_plan(owner, account, "PRO")
    return account


def _with_cached_values(content: bytes, cached: dict[str, str]) -> bytes:
    """openpyxl writes a formula with an empty `<v/>`; Excel writes the value it computed.
    `cached` maps a formula's text to that value (a number, or `str:<text>`, `e:<error>`)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                text = data.decode()
                for formula, value in cached.items():
                    kind, _, shown = value.rpartition(":")
                    typed = f' t="{kind}"' if kind else ""
                    text = re.sub(
                        rf"<c r=\"([A-Z]+[0-9]+)\"([^>]*)><f>{re.escape(formula)}</f><v\s*/>",
                        rf'<c r="\1"\2{typed}><f>{formula}</f><v>{shown}</v>',
                        text,
                    )
                data = text.encode()
            target.writestr(info, data)
    return out.getvalue()


def openpyxl_workbook() -> bytes:
    """A cover sheet first (merged title), the leads on the second sheet."""
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "ملخص"
    cover["A1"] = "تقرير العملاء — ديسمبر"
    cover.merge_cells("A1:F1")
    cover["A2"] = 2
    sheet = book.create_sheet("عملاء")
    sheet.append(["الاسم", "الجوال", None, "الجوال", "المدينة", "تاريخ الزيارة", "الفروع", "الاسم"])
    sheet.append([
        "مطعم البيك", 966501234567.0, "ملاحظة", "0551234567", "جدة",
        datetime.date(2026, 12, 1), "=2*3", "تكرار",
    ])  # fmt: skip
    sheet.append([
        "كودو", 966561234567, None, None, "الرياض",
        datetime.datetime(2026, 12, 1, 9, 30), "=1/0", None,
    ])  # fmt: skip
    sheet.append([None] * 8)  # an empty row in the middle
    sheet.append(["هرفي", 4.5, None, "+966 57 123 4567", "الدمام", None, '="ف"&"رع"', None])
    sheet.merge_cells("E3:E4")  # a merged city: only its top-left cell holds the value
    out = io.BytesIO()
    book.save(out)
    return _with_cached_values(
        out.getvalue(), {"2*3": "6", "1/0": "e:#DIV/0!", '="ف"&"رع"'[1:]: "str:فرع"}
    )


MAPPING = {
    "الاسم": "name",
    "الجوال": "phones",
    "الجوال (2)": "phones",
    "المدينة": "city",
    "تاريخ الزيارة": "customFields.visited",
    "الفروع": "customFields.branches",
    "Column C": "customFields.note",
}


async def test_an_openpyxl_workbook_on_its_second_sheet(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stored = await uploaded(client, boss, "عملاء ديسمبر.xlsx", openpyxl_workbook())
    detected = stored["detected"]
    assert detected["sheets"] == ["ملخص", "عملاء"]
    assert detected["sheet"] == "ملخص"  # the first visible sheet, whatever it holds
    job = await job_done(
        client,
        app,
        settings,
        boss,
        "IMPORT",
        {"fileId": stored["id"], "mapping": MAPPING, "sheet": "عملاء"},
    )
    assert job["status"] == "COMPLETED", job
    output = job["output"]
    assert {k: output[k] for k in ("rows", "created", "skipped", "failed")} == {
        "rows": 4, "created": 2, "skipped": 1, "failed": 1,
    }  # fmt: skip
    found = await leads_by_name(owner, boss)
    assert set(found) == {"مطعم البيك", "كودو"}
    albaik, kudu = found["مطعم البيك"], found["كودو"]
    # A phone Excel stored as the float 966501234567.0 is the Saudi number, not "9.66501E+11".
    assert albaik["phones"] == ["+966501234567", "+966551234567"]
    assert kudu["phones"] == ["+966561234567"]
    assert albaik["city"] == "جدة"
    assert kudu["city"] == "الرياض"
    assert json.loads(albaik["custom_fields"]) == {
        "visited": "2026-12-01", "branches": "6", "note": "ملاحظة",
    }  # fmt: skip
    # A cached error is an empty cell, never the text "#DIV/0!".
    assert json.loads(kudu["custom_fields"]) == {"visited": "2026-12-01T09:30:00"}
    lines = await report(client, boss, output["reportFileId"])
    assert [line[:2] for line in lines[1:]] == [
        ["2", "created"], ["3", "created"], ["4", "skipped"], ["5", "failed"],
    ]  # fmt: skip
    # 4.5 is no phone: the row fails naming the field and the column, the rest goes on.
    assert lines[4][3].startswith("phones: '4.5'"), lines[4]
    assert "الجوال" in lines[4][3]


@pytest.mark.parametrize(
    ("sheet", "code"),
    [
        # The default sheet is the cover, which has no column "الاسم".
        ({}, "import_mapping_invalid"),
        ({"sheet": "Sheet9"}, "sheet_not_found"),
    ],
    ids=["default-sheet", "no-such-sheet"],
)
async def test_a_sheet_without_the_columns_or_no_such_sheet(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
    sheet: dict[str, str],
    code: str,
) -> None:
    stored = await uploaded(client, boss, "book.xlsx", openpyxl_workbook())
    job_input = {"fileId": stored["id"], "mapping": {"الاسم": "name"}, **sheet}
    job = await job_done(client, app, settings, boss, "IMPORT", job_input)
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == code, job["error"]
    if code == "sheet_not_found":
        assert job["error"]["sheets"] == ["ملخص", "عملاء"]
    assert await leads_by_name(owner, boss) == {}


ROWS: list[list[Any]] = [
    ["Business name", "Mobile", "Mobile", "E-mail", "City", "Rating"],
    ["Al Baik", 966501234567.0, "0551234567", "info@albaik.example", "Jeddah", 4.5],
    ["مطعم الأمل", "٠٥٦١٢٣٤٥٦٧", None, "a@amal.example; b@amal.example", "الرياض", 4],
    ["Al Baik", "+966 50 123 4567", None, None, "Jeddah", None],  # the first row again
]


def xlsxwriter_workbook(*, constant_memory: bool) -> bytes:
    """XlsxWriter's shared strings, or (constant_memory) inline strings written row by row."""
    out = io.BytesIO()
    options = {"in_memory": not constant_memory, "constant_memory": constant_memory,
               "strings_to_numbers": False, "strings_to_formulas": False}  # fmt: skip
    book = xlsxwriter.Workbook(out, options)
    sheet = book.add_worksheet("Leads")
    for r, row in enumerate(ROWS):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write_number(r, c, value)
    book.close()
    content = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml")
        assert (b"inlineStr" in sheet_xml) is constant_memory
        assert ("xl/sharedStrings.xml" in archive.namelist()) is not constant_memory
    return content


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared", "inline"])
async def test_xlsxwriter_strings_shared_or_inline(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
    constant_memory: bool,
) -> None:
    stored = await uploaded(
        client, boss, "leads.xlsx", xlsxwriter_workbook(constant_memory=constant_memory)
    )
    detected = stored["detected"]
    assert detected["header"] == [
        "Business name",
        "Mobile",
        "Mobile (2)",
        "E-mail",
        "City",
        "Rating",
    ]
    assert detected["sampleRows"][0][:3] == ["Al Baik", "966501234567", "0551234567"]
    mapping = detected["suggestedMapping"] | {"Mobile (2)": "phones"}
    job = await job_done(
        client, app, settings, boss, "IMPORT", {"fileId": stored["id"], "mapping": mapping}
    )
    assert job["status"] == "COMPLETED", job
    assert {k: job["output"][k] for k in ("created", "joined", "failed")} == {
        "created": 2, "joined": 1, "failed": 0,
    }  # fmt: skip
    found = await leads_by_name(owner, boss)
    assert found["Al Baik"]["phones"] == ["+966501234567", "+966551234567"]
    assert found["Al Baik"]["rating"] == 4.5
    assert found["مطعم الأمل"]["phones"] == ["+966561234567"]
    assert found["مطعم الأمل"]["emails"] == ["a@amal.example", "b@amal.example"]
    assert found["مطعم الأمل"]["city"] == "الرياض"


def one_sheet(rows: list[list[Any]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return out.getvalue()


async def test_a_megabyte_in_one_cell_fails_its_row_only(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    huge = "ب" * 1_000_000
    content = one_sheet([
        ["Name", "Phone", "Notes"],
        [huge, "0501234567", ""],
        ["كودو", "0551234567", huge],
        ["هرفي", "0561234567", "عادي"],
    ])  # fmt: skip
    stored = await uploaded(client, boss, "big.xlsx", content)
    mapping = {"Name": "name", "Phone": "phones", "Notes": "customFields.notes"}
    job = await job_done(
        client, app, settings, boss, "IMPORT", {"fileId": stored["id"], "mapping": mapping}
    )
    assert job["status"] == "COMPLETED", job
    assert job["output"]["failed"] == 2
    assert job["output"]["created"] == 1
    assert set(await leads_by_name(owner, boss)) == {"هرفي"}
    lines = await report(client, boss, job["output"]["reportFileId"])
    assert [line[:2] for line in lines[1:]] == [["2", "failed"], ["3", "failed"], ["4", "created"]]
    assert lines[1][3].startswith("name: ")
    assert lines[2][3].startswith("customFields")
    # The report names what is wrong; it does not repeat the megabyte.
    assert all(len(line[3]) < 2_000 for line in lines[1:])


async def test_five_thousand_columns_are_refused(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
) -> None:
    content = one_sheet([[f"c{i}" for i in range(5000)], list(range(5000))])
    response = await upload(client, boss, "wide.xlsx", content)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "file_too_complex"
    assert await owner.fetchval("SELECT count(*) FROM files") == 0
