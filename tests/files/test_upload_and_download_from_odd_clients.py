"""POST /v1/files and the downloads as clients we did not write send them: hand-built multipart
bodies (no file, two files, no boundary, the wrong type), file names that try to escape or to
break a header, another tenant's file, ids that are no UUID, and range requests. Each answer is
the documented one, or a clear 4xx with a stable code — never a 500, and nothing stored."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote, unquote

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.config import Settings
from tests.factories.accounts import Account, on_plan, signup
from tests.support.jobs_http import job_done, upload, uploaded

CSV = "الاسم,الجوال\nمطعم البيك,0501234567\nكودو,0551234567\n".encode()
BOUNDARY = "----leedz-odd-client-7MA4YWxkTrZu0gW"


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Odd Clients")
    await on_plan(owner, account, "PRO")
    return account


def part(headers: str, body: bytes) -> bytes:
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + body + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def file_part(filename: str = "leads.csv", content: bytes = CSV, name: str = "file") -> bytes:
    return part(
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: text/csv",
        content,
    )


async def raw_post(
    client: httpx.AsyncClient,
    account: Account,
    content: bytes,
    content_type: str = f"multipart/form-data; boundary={BOUNDARY}",
) -> httpx.Response:
    return await client.post(
        "/v1/files",
        content=content,
        headers={**account.headers, "Content-Type": content_type},
    )


async def nothing_stored(owner: asyncpg.Connection, settings: Settings) -> None:
    assert await owner.fetchval("SELECT count(*) FROM files") == 0
    for place in (settings.data_dir / "files", settings.data_dir / "tmp"):
        if place.exists():
            assert [p for p in place.rglob("*") if p.is_file()] == []


PURPOSE = part('Content-Disposition: form-data; name="purpose"', b"import")
MALFORMED = {
    "no-file-part": (body(PURPOSE), 422, "file_field_missing"),
    "two-file-parts": (body(file_part(), file_part("b.csv")), 422, "upload_malformed"),
    "a-file-part-without-filename": (
        body(part('Content-Disposition: form-data; name="file"', CSV)), 422, "upload_malformed",
    ),
    "an-unknown-part": (body(file_part(), file_part(name="other")), 422, "upload_malformed"),
    "no-closing-boundary": (file_part(), 422, "upload_malformed"),
    "an-empty-body": (b"", 422, "upload_malformed"),
    "not-multipart-at-all": (b"--garbage--", 422, "upload_malformed"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_malformed_multipart_body(
    client: httpx.AsyncClient,
    boss: Account,
    owner: asyncpg.Connection,
    settings: Settings,
    kind: str,
) -> None:
    content, status, code = MALFORMED[kind]
    response = await raw_post(client, boss, content)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    await nothing_stored(owner, settings)


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/csv", 415),
        ("application/json", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/mixed; boundary=" + BOUNDARY, 415),
        ("multipart/form-data", 422),  # no boundary
        ("", 415),
    ],
)
async def test_the_wrong_content_type(
    client: httpx.AsyncClient,
    boss: Account,
    owner: asyncpg.Connection,
    settings: Settings,
    content_type: str,
    status: int,
) -> None:
    response = await raw_post(client, boss, body(file_part()), content_type)
    assert response.status_code == status, response.text
    assert response.json()["code"] in {"unsupported_media_type", "upload_malformed"}
    await nothing_stored(owner, settings)


def disposition_names(header: str) -> tuple[str, str]:
    """The ASCII fallback and the RFC 5987 name of a Content-Disposition."""
    match = re.fullmatch(r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'([^;\s]*)', header)
    assert match, header
    fallback, encoded = match.groups()
    assert all(c.isascii() and c.isprintable() for c in fallback)
    assert re.fullmatch(r"[A-Za-z0-9%\-._~]*", encoded), encoded  # attr-char / pct-encoded
    return fallback, unquote(encoded, errors="strict")


def browser_escaped(name: str) -> str:
    """A file name in a multipart part header as browsers write it (the HTML standard:
    `"` as %22, CR as %0D, LF as %0A), or as curl does (`\\"`)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@pytest.mark.parametrize(
    ("filename", "kept"),
    [
        ("../../x.csv", "x.csv"),
        ("..\\..\\windows\\x.csv", "x.csv"),
        ("/etc/passwd", "passwd"),
        ("عملاء الرياض.csv", "عملاء الرياض.csv"),
        (browser_escaped('a";b.csv'), "a%22;b.csv"),
        ('a\\";b.csv', 'a";b.csv'),
        (browser_escaped("a\r\nX-Injected: 1.csv"), "a%0D%0AX-Injected: 1.csv"),
        ("a\tb\x7f\x01.csv", "ab.csv"),
        ("تقرير\u202egpj.csv", "تقريرgpj.csv"),  # a right-to-left override hides the extension
        ("100% ok;name=x.csv", "100% ok;name=x.csv"),
        ("x" * 300 + ".csv", "x" * 251 + ".csv"),
    ],
)
async def test_a_file_name_is_kept_safe_in_the_answer_and_the_download(
    client: httpx.AsyncClient, boss: Account, filename: str, kept: str
) -> None:
    response = await raw_post(client, boss, body(file_part(filename)))
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["name"] == kept
    download = await client.get(f"/v1/files/{stored['id']}/download", headers=boss.headers)
    assert download.status_code == 200, download.text
    assert download.content == CSV
    header = download.headers["content-disposition"]
    assert "\r" not in header
    assert "\n" not in header
    assert "x-injected" not in download.headers
    fallback, exact = disposition_names(header)
    assert exact == kept
    assert len(fallback) == len(kept)


async def test_an_arabic_name_downloads_as_rfc_5987(
    client: httpx.AsyncClient, boss: Account
) -> None:
    stored = await uploaded(client, boss, "عملاء الرياض.csv", CSV)
    response = await client.get(f"/v1/files/{stored['id']}/download", headers=boss.headers)
    header = response.headers["content-disposition"]
    assert header.endswith("filename*=UTF-8''" + quote("عملاء الرياض.csv", safe=""))
    assert disposition_names(header)[1] == "عملاء الرياض.csv"


async def test_another_tenant_s_file_is_not_found(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    boss: Account,
    owner: asyncpg.Connection,
) -> None:
    stored = await uploaded(client, boss, "leads.csv", CSV)
    stranger = await signup(client, tenant_name="Somebody Else")
    await on_plan(owner, stranger, "PRO")
    for path in (f"/v1/files/{stored['id']}", f"/v1/files/{stored['id']}/download"):
        response = await client.get(path, headers=stranger.headers)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "file_not_found"
        assert "الاسم" not in response.text
    # Nor may they import it: the job fails as for a file that does not exist, reading nothing.
    job = await job_done(
        client, app, settings, stranger, "IMPORT",
        {"fileId": stored["id"], "mapping": {"الاسم": "name"}},
    )  # fmt: skip
    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "file_not_found"
    assert await owner.fetchval("SELECT count(*) FROM leads") == 0


@pytest.mark.parametrize(
    "file_id", ["not-a-uuid", "1", "../../etc/passwd", "%00", "' OR 1=1 --", "ـ" * 40]
)
async def test_a_file_id_that_is_no_uuid(
    client: httpx.AsyncClient, boss: Account, file_id: str
) -> None:
    for suffix in ("", "/download"):
        response = await client.get(
            f"/v1/files/{quote(file_id, safe='')}{suffix}", headers=boss.headers
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.status_code != 405


async def test_an_unknown_uuid_is_not_found(client: httpx.AsyncClient, boss: Account) -> None:
    response = await client.get(f"/v1/files/{uuid.uuid4()}/download", headers=boss.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "file_not_found"


@pytest.mark.parametrize(
    ("range_header", "status", "content"),
    [
        ("bytes=0-9", 206, CSV[:10]),
        ("bytes=10-", 206, CSV[10:]),
        ("bytes=-5", 206, CSV[-5:]),
        ("bytes=0-0", 206, CSV[:1]),
        ("bytes=0-99999", 206, CSV),
        (f"bytes={len(CSV)}-", 416, b""),
        ("bytes=-0", 416, b""),
        # Not a byte range, or not a valid one: ignored (RFC 9110, 14.2), the whole file.
        ("pages=1-2", 200, CSV),
        ("bytes=9-2", 200, CSV),
        ("bytes=abc", 200, CSV),
        ("bytes=", 200, CSV),
        ("=", 200, CSV),
        ("bytes=0-1,0-1,0-1", 206, CSV[:2]),  # overlapping ranges merged into one
        ("bytes=" + ",".join(f"{i}-{i}" for i in range(500)), 200, CSV),  # too many parts
    ],
)
async def test_range_requests(
    client: httpx.AsyncClient,
    boss: Account,
    range_header: str,
    status: int,
    content: bytes,
) -> None:
    stored = await uploaded(client, boss, "leads.csv", CSV)
    response = await client.get(
        f"/v1/files/{stored['id']}/download", headers={**boss.headers, "Range": range_header}
    )
    assert response.status_code == status, response.text
    assert response.content == content
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{len(CSV)}"


async def test_a_file_sent_with_any_part_content_type(
    client: httpx.AsyncClient, boss: Account
) -> None:
    # The format comes from the bytes; the part's own type is not trusted either way.
    for content_type in ("image/png", "application/x-msdownload", "text/html", ""):
        response = await upload(client, boss, "leads.csv", CSV, content_type=content_type)
        assert response.status_code == 201, response.text
        assert response.json()["detected"]["format"] == "CSV"


@pytest.mark.parametrize(
    "disposition",
    [
        # .NET's HttpClient (MultipartFormDataContent) for a non-ASCII name: an RFC 2047
        # fallback next to the RFC 5987 name.
        'form-data; name=file; filename="=?utf-8?B?2LnZhdmE2KfYoSDYp9mE2LHZitin2LYuY3N2?=";'
        " filename*=utf-8''%D8%B9%D9%85%D9%84%D8%A7%D8%A1%20"
        "%D8%A7%D9%84%D8%B1%D9%8A%D8%A7%D8%B6.csv",
        # Only the RFC 5987 name.
        "form-data; name=\"file\"; filename*=UTF-8''%D8%B9%D9%85%D9%84%D8%A7%D8%A1%20"
        "%D8%A7%D9%84%D8%B1%D9%8A%D8%A7%D8%B6.csv",
        # Raw UTF-8, as browsers send it.
        'form-data; name="file"; filename="عملاء الرياض.csv"',
    ],
    ids=["dotnet", "filename-star-only", "browser"],
)
async def test_an_arabic_name_however_the_client_spells_it(
    client: httpx.AsyncClient, boss: Account, disposition: str
) -> None:
    part_headers = f"Content-Disposition: {disposition}\r\nContent-Type: text/csv"
    content = (f"--{BOUNDARY}\r\n{part_headers}\r\n\r\n").encode() + CSV + b"\r\n"
    response = await raw_post(client, boss, content + f"--{BOUNDARY}--\r\n".encode())
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "عملاء الرياض.csv"


async def test_a_filename_star_inside_a_quoted_name_is_only_text(
    client: httpx.AsyncClient, boss: Account
) -> None:
    # `filename*=` inside the quoted `filename` is part of that value, not a parameter: it must
    # not replace the name the client sent.
    disposition = 'form-data; name="file"; filename="leads; filename*=utf-8\'\'evil.exe"'
    part_headers = f"Content-Disposition: {disposition}\r\nContent-Type: text/csv"
    content = (f"--{BOUNDARY}\r\n{part_headers}\r\n\r\n").encode() + CSV + b"\r\n"
    response = await raw_post(client, boss, content + f"--{BOUNDARY}--\r\n".encode())
    assert response.status_code == 201, response.text
    assert response.json()["name"] != "evil.exe"
    assert response.json()["name"].startswith("leads")
