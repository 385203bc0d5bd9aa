"""Text files as other programs write them, uploaded with POST /v1/files and imported with
POST /v1/jobs by a real worker: Excel on Arabic Windows (Windows-1256, `;`, CRLF), Excel's
"Unicode text" in both byte orders, Mac-classic CR line ends, mixed line ends, quoted cells
holding the delimiter and doubled quotes, a header and nothing else, no header at all — and
the files that must be refused with a clear 422 and nothing stored."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.config import Settings
from tests.factories.accounts import Account, on_plan, signup
from tests.support.jobs_http import job_done, leads_by_name, report, upload, uploaded

HEADER = ["الاسم", "الجوال", "المدينة", "ملاحظات"]
# A note holding the delimiter, doubled quotes, and both: written quoted by hand below.
ROWS = [
    ["مطعم البيك", "0501234567", "جدة", 'فرع {d} "الحمراء"'],
    ["كودو", "0551234567 / 0561234567", "الرياض", ""],
    ["Al Baik", "+966 50 123 4567", "جدة", ""],  # the first business again
]


def text(delimiter: str, newline: str, *, header: bool = True, rows: bool = True) -> str:
    def quoted(cell: str) -> str:
        cell = cell.replace("{d}", delimiter)
        if delimiter in cell or '"' in cell:
            return '"' + cell.replace('"', '""') + '"'
        return cell

    lines = ([HEADER] if header else []) + (ROWS if rows else [])
    return "".join(delimiter.join(quoted(c) for c in line) + newline for line in lines)


def mixed_newlines() -> bytes:
    lines = text(",", "\n").splitlines()
    return (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r\n" + lines[3] + "\n").encode()


FILES = {
    "excel-arabic-windows": ("عملاء.csv", text(";", "\r\n").encode("cp1256")),
    "utf16-le-bom-tab": ("عملاء.txt", b"\xff\xfe" + text("\t", "\r\n").encode("utf-16-le")),
    "utf16-be-bom-tab": ("leads.txt", b"\xfe\xff" + text("\t", "\r\n").encode("utf-16-be")),
    "mac-classic-cr": ("leads.csv", text(",", "\r").encode()),
    "mixed-line-ends": ("leads.csv", mixed_newlines()),
    "pipes-utf8-no-bom": ("leads.csv", text("|", "\n").encode()),
}


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="مؤسسة الملفات")
    await on_plan(owner, account, "PRO")
    return account


async def stored_files(owner: asyncpg.Connection, account: Account) -> int:
    count: int = await owner.fetchval(
        "SELECT count(*) FROM files WHERE tenant_id = $1::uuid", account.tenant_id
    )
    return count


MAPPING = {"الاسم": "name", "الجوال": "phones", "المدينة": "city", "ملاحظات": "customFields.notes"}


@pytest.mark.parametrize("kind", list(FILES))
async def test_a_file_as_another_program_wrote_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
    kind: str,
) -> None:
    name, content = FILES[kind]
    stored = await uploaded(client, boss, name, content)
    detected = stored["detected"]
    delimiter = {"excel-arabic-windows": ";", "pipes-utf8-no-bom": "|"}.get(
        kind, "\t" if kind.startswith("utf16") else ","
    )
    assert detected["delimiter"] == delimiter
    assert detected["header"] == HEADER
    assert detected["rowEstimate"] == 3
    assert detected["suggestedMapping"] == MAPPING
    job = await job_done(
        client, app, settings, boss, "IMPORT", {"fileId": stored["id"], "mapping": MAPPING}
    )
    assert job["status"] == "COMPLETED", job
    assert {k: job["output"][k] for k in ("rows", "created", "joined", "failed")} == {
        "rows": 3, "created": 2, "joined": 1, "failed": 0,
    }  # fmt: skip
    found = await leads_by_name(owner, boss)
    assert set(found) == {"مطعم البيك", "كودو"}
    assert found["مطعم البيك"]["city"] == "جدة"
    assert found["مطعم البيك"]["custom_fields"] == (
        '{"notes": "فرع ' + delimiter.replace("\t", "\\t") + ' \\"الحمراء\\""}'
    )
    assert found["كودو"]["phones"] == ["+966551234567", "+966561234567"]
    lines = await report(client, boss, job["output"]["reportFileId"])
    assert [line[:2] for line in lines[1:]] == [["2", "created"], ["3", "created"], ["4", "joined"]]


async def test_a_header_and_nothing_else(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stored = await uploaded(client, boss, "empty.csv", text(",", "\r\n", rows=False).encode())
    assert stored["detected"]["rowEstimate"] == 0
    assert stored["detected"]["sampleRows"] == []
    job = await job_done(
        client, app, settings, boss, "IMPORT", {"fileId": stored["id"], "mapping": MAPPING}
    )
    assert job["status"] == "COMPLETED", job
    assert job["output"]["rows"] == 0
    assert await report(client, boss, job["output"]["reportFileId"]) == [
        ["row", "action", "leadId", "error"]
    ]
    assert await leads_by_name(owner, boss) == {}


async def test_a_file_without_a_header_reads_its_first_row_as_one(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stored = await uploaded(client, boss, "raw.csv", text(",", "\n", header=False).encode())
    detected = stored["detected"]
    assert detected["header"][:2] == ["مطعم البيك", "0501234567"]
    assert detected["suggestedMapping"] == {}
    assert detected["rowEstimate"] == 2
    # Mapping the first row's values as column names imports the rows after it.
    job = await job_done(
        client,
        app,
        settings,
        boss,
        "IMPORT",
        {"fileId": stored["id"], "mapping": {"مطعم البيك": "name", "0501234567": "phones"}},
    )
    assert job["status"] == "COMPLETED", job
    assert set(await leads_by_name(owner, boss)) == {"كودو", "Al Baik"}


REFUSED = {
    # UTF-8 with a few bytes that are no UTF-8 (a file cut and pasted together): refused, not
    # read as another code page, which would turn every Arabic letter into mojibake.
    "utf8-with-invalid-bytes": (
        text(",", "\n").encode().replace("كودو".encode(), b"\xff" + "كودو".encode()),
        "file_encoding_unknown",
    ),
    "invalid-bytes-past-the-first-rows": (
        (text(",", "\n") * 200).encode() + b"\x80\x81 end\n",
        "file_encoding_unknown",
    ),
    "one-cell-of-one-megabyte": (
        ("الاسم,ملاحظات\nمطعم," + "ب" * 1_000_000 + "\n").encode(),
        "file_corrupt",
    ),
    "five-thousand-columns": (
        ("\n".join(",".join(f"{r}{c}" for c in range(5000)) for r in "ab") + "\n").encode(),
        "file_too_complex",
    ),
    "only-blank-lines": (b"\r\n \r\n,,,\r\n", "file_empty"),
}


@pytest.mark.parametrize("kind", list(REFUSED))
async def test_a_file_refused_at_upload_with_its_code_and_nothing_stored(
    client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection, kind: str
) -> None:
    content, code = REFUSED[kind]
    response = await upload(client, boss, "leads.csv", content)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await stored_files(owner, boss) == 0
