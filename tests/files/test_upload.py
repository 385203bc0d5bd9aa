"""POST /v1/files: a multipart upload streamed, limited, hashed and read; GET and download."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from leedz.config import Settings
from tests.factories.accounts import Account, member, on_plan, signup

ARABIC_CSV = "الاسم,الجوال,المدينة\nمحمد العتيبي,+966501234567,الرياض\nسارة,0551234567,جدة\n"
ARABIC_NAME = "عملاء الرياض.csv"
MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


async def upload(
    client: httpx.AsyncClient,
    account: Account,
    content: bytes,
    *,
    name: str = "leads.csv",
    purpose: str | None = "import",
) -> httpx.Response:
    data = {"purpose": purpose} if purpose is not None else None
    return await client.post(
        "/v1/files",
        files={"file": (name, content, "text/csv")},
        data=data,
        headers=account.headers,
    )


async def stored_state(owner: asyncpg.Connection, settings: Settings) -> tuple[int, list[Path]]:
    """Rows in `files`, and every file left on disk under the store and the scratch dir."""
    rows = await owner.fetchval("SELECT count(*) FROM files")
    on_disk = [
        path
        for place in (settings.data_dir / "files", settings.data_dir / "tmp")
        if place.exists()
        for path in place.rglob("*")
        if path.is_file()
    ]
    return rows, on_disk


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Uploads Co")
    await on_plan(owner, account, "PRO")
    return account


class TestUpload:
    async def test_a_csv_is_stored_hashed_and_detected(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        content = ARABIC_CSV.encode()
        response = await upload(client, boss, content, name=ARABIC_NAME)
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"/v1/files/{body['id']}"
        assert body["name"] == ARABIC_NAME
        assert body["size"] == len(content)
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
        assert body["purpose"] == "IMPORT"
        assert body["format"] == "CSV"
        assert body["createdBy"] == boss.user_id
        detected = body["detected"]
        assert detected["format"] == "CSV"
        assert detected["delimiter"] == ","
        assert detected["header"] == ["الاسم", "الجوال", "المدينة"]
        assert detected["sampleRows"][0] == ["محمد العتيبي", "+966501234567", "الرياض"]
        assert detected["rowEstimate"] == 2
        assert detected["suggestedMapping"]["الجوال"] == "phones"
        # Expires 24 h after its last use (now).
        row = await owner.fetchrow(
            "SELECT tenant_id, expires_at - last_used_at AS idle, storage_key FROM files"
            " WHERE id = $1",
            uuid.UUID(body["id"]),
        )
        assert row is not None
        assert row["idle"].total_seconds() == 24 * 3600
        assert row["storage_key"] == f"{boss.tenant_id}/{body['id']}"

        fetched = await client.get(f"/v1/files/{body['id']}", headers=boss.headers)
        assert fetched.status_code == 200
        assert fetched.json() == body

    async def test_download_is_byte_exact_with_the_arabic_name(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        content = "\ufeff".encode() + ARABIC_CSV.encode()  # a BOM, kept as sent
        created = await upload(client, boss, content, name=ARABIC_NAME)
        assert created.status_code == 201, created.text
        response = await client.get(
            f"/v1/files/{created.json()['id']}/download", headers=boss.headers
        )
        assert response.status_code == 200
        assert response.content == content
        assert response.headers["content-type"].startswith("text/csv")
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment; ")
        assert f"filename*=UTF-8''{quote(ARABIC_NAME, safe='')}" in disposition
        # The ASCII fallback: every non-ASCII character replaced, the extension kept.
        assert 'filename="' in disposition
        assert disposition.split('filename="')[1].split('"')[0].endswith(".csv")
        assert response.headers["x-content-type-options"] == "nosniff"

    async def test_an_xlsx_is_detected(self, client: httpx.AsyncClient, boss: Account) -> None:
        import io

        import xlsxwriter  # type: ignore[import-untyped]

        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = workbook.add_worksheet("عملاء")
        sheet.write_row(0, 0, ["Name", "Mobile"])
        sheet.write_row(1, 0, ["شركة النور", "+966501234567"])
        workbook.close()
        response = await upload(client, boss, buffer.getvalue(), name="leads.xlsx")
        assert response.status_code == 201, response.text
        assert response.json()["detected"]["format"] == "XLSX"
        assert response.json()["detected"]["header"] == ["Name", "Mobile"]

    async def test_purpose_defaults_to_import(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        response = await upload(client, boss, ARABIC_CSV.encode(), purpose=None)
        assert response.status_code == 201, response.text


class TestTooLarge:
    """51 MB against the 50 MB limit: 413, and no row, no object, no scratch file."""

    async def test_a_declared_51_mb_body_is_refused_before_it_is_read(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        settings: Settings,
    ) -> None:
        content = b"a,b\n" + b"1,2\n" * (51 * MB // 4)
        response = await upload(client, boss, content)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "upload_too_large"
        assert response.json()["limit"] == 50 * MB
        assert await stored_state(owner, settings) == (0, [])

    async def test_a_streamed_51_mb_file_is_cut_off_at_the_limit(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        settings: Settings,
    ) -> None:
        """No Content-Length (chunked): the limit holds while the bytes arrive."""
        boundary = "leedz-boundary-51mb"
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
                f' filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            chunk = b"1,2\n" * (MB // 4)
            for _ in range(60):  # 60 MB offered
                sent += len(chunk)
                yield chunk
            yield f"\r\n--{boundary}--\r\n".encode()

        response = await client.post(
            "/v1/files",
            content=body(),
            headers={
                **boss.headers,
                "content-type": f"multipart/form-data; boundary={boundary}",
            },
        )
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "upload_too_large"
        assert sent <= 51 * MB  # reading stopped at the 51st MB: the rest was never pulled
        assert await stored_state(owner, settings) == (0, [])

    async def test_exactly_the_limit_is_accepted(
        self,
        client: httpx.AsyncClient,
        boss: Account,
        owner: asyncpg.Connection,
        settings: Settings,
    ) -> None:
        # Wide rows: the reader reads the whole file, and what is timed here is the upload.
        line = b"1," + b"x" * 1021 + b"\n"
        rows, rest = divmod(50 * MB - 4, len(line))
        content = b"a,b\n" + line * rows + b"2," + b"y" * (rest - 3) + b"\n"
        assert len(content) == 50 * MB
        response = await upload(client, boss, content)
        assert response.status_code == 201, response.text
        assert response.json()["size"] == 50 * MB
        assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
        rows, on_disk = await stored_state(owner, settings)
        assert rows == 1
        assert [path.stat().st_size for path in on_disk] == [50 * MB]  # the object, no scratch


class TestRefused:
    """Each with a stable code, and nothing stored."""

    @pytest.fixture(autouse=True)
    async def _nothing_stored(
        self, owner: asyncpg.Connection, settings: Settings
    ) -> AsyncIterator[None]:
        yield
        assert await stored_state(owner, settings) == (0, [])

    async def test_a_png_named_csv(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await upload(client, boss, PNG, name="leads.csv")
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "file_format_unsupported"

    async def test_no_file_part(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await client.post(
            "/v1/files",
            files={"purpose": (None, b"import")},
            headers=boss.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "file_field_missing"

    async def test_not_multipart(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await client.post("/v1/files", content=ARABIC_CSV.encode(), headers=boss.headers)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "unsupported_media_type"

    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            # Cut before the closing boundary.
            (
                "multipart/form-data; boundary=xyz",
                b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
                b"\r\na,b\n1,2\n",
            ),
            # No boundary parameter.
            ("multipart/form-data", b"--xyz\r\n\r\n"),
            # Garbage after the boundary line.
            ("multipart/form-data; boundary=xyz", b"--xyz\x00\x01garbage" * 10),
            # A part without a name.
            (
                "multipart/form-data; boundary=xyz",
                b'--xyz\r\nContent-Disposition: form-data; filename="a.csv"\r\n'
                b"\r\na\r\n--xyz--\r\n",
            ),
            # A second file.
            (
                "multipart/form-data; boundary=xyz",
                (
                    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"'
                    b"\r\n\r\na,b\r\n"
                )
                * 2
                + b"--xyz--\r\n",
            ),
            # An unknown part.
            (
                "multipart/form-data; boundary=xyz",
                b'--xyz\r\nContent-Disposition: form-data; name="owner"\r\n\r\nme\r\n--xyz--\r\n',
            ),
            # The file part without a filename.
            (
                "multipart/form-data; boundary=xyz",
                b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\na,b\r\n--xyz--\r\n',
            ),
        ],
        ids=["truncated", "no-boundary", "garbage", "nameless", "two-files", "unknown", "no-name"],
    )
    async def test_malformed_multipart(
        self, client: httpx.AsyncClient, boss: Account, content_type: str, body: bytes
    ) -> None:
        response = await client.post(
            "/v1/files", content=body, headers={**boss.headers, "content-type": content_type}
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "upload_malformed"

    async def test_another_purpose(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await upload(client, boss, ARABIC_CSV.encode(), purpose="export")
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "upload_purpose_invalid"

    async def test_an_empty_file(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await upload(client, boss, b"")
        assert response.status_code == 422, response.text
        assert response.json()["code"].startswith("file_")

    async def test_a_lower_role(self, client: httpx.AsyncClient, boss: Account) -> None:
        sales = await member(client, boss, "SALES")
        response = await upload(client, sales, ARABIC_CSV.encode())
        assert response.status_code == 403, response.text
        assert response.json()["permission"] == "leads:import"

    async def test_no_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/files", files={"file": ("a.csv", ARABIC_CSV.encode(), "text/csv")}
        )
        assert response.status_code == 401


class TestWhoReads:
    async def test_another_tenant_gets_404(self, client: httpx.AsyncClient, boss: Account) -> None:
        created = await upload(client, boss, ARABIC_CSV.encode())
        file_id = created.json()["id"]
        stranger = await signup(client, tenant_name="Elsewhere")
        for path in (f"/v1/files/{file_id}", f"/v1/files/{file_id}/download"):
            response = await client.get(path, headers=stranger.headers)
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "file_not_found"

    async def test_an_unknown_id_is_404(self, client: httpx.AsyncClient, boss: Account) -> None:
        response = await client.get(f"/v1/files/{uuid.uuid4()}", headers=boss.headers)
        assert response.status_code == 404

    async def test_sales_may_not_read_an_upload(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        created = await upload(client, boss, ARABIC_CSV.encode())
        sales = await member(client, boss, "SALES")
        manager = await member(client, boss, "MANAGER")
        file_id = created.json()["id"]
        for path in (f"/v1/files/{file_id}", f"/v1/files/{file_id}/download"):
            refused = await client.get(path, headers=sales.headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["permission"] == "leads:import"
            assert (await client.get(path, headers=manager.headers)).status_code == 200

    async def test_the_creator_still_reads_after_a_demotion(
        self, client: httpx.AsyncClient, boss: Account
    ) -> None:
        manager = await member(client, boss, "MANAGER")
        created = await upload(client, manager, ARABIC_CSV.encode())
        assert created.status_code == 201
        demoted = await client.patch(
            f"/v1/members/{manager.user_id}", json={"role": "SALES"}, headers=boss.headers
        )
        assert demoted.status_code == 200, demoted.text
        response = await client.get(f"/v1/files/{created.json()['id']}", headers=manager.headers)
        assert response.status_code == 200

    async def test_an_expired_file_is_gone(
        self, client: httpx.AsyncClient, boss: Account, owner: asyncpg.Connection
    ) -> None:
        created = await upload(client, boss, ARABIC_CSV.encode())
        await owner.execute(
            "UPDATE files SET expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(created.json()["id"]),
        )
        response = await client.get(f"/v1/files/{created.json()['id']}", headers=boss.headers)
        assert response.status_code == 404


async def test_a_client_gone_mid_upload_leaves_no_scratch_file(tmp_path: Path) -> None:
    """The body stops with `http.disconnect`: a 400 nobody reads, and the scratch file goes."""
    from starlette.requests import Request

    from leedz.files.receive import UploadInterrupted, receive_upload

    messages: Iterator[dict[str, object]] = iter(
        [
            {
                "type": "http.request",
                "body": b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"'
                b"\r\n\r\n" + b"a,b\n" * 1000,
                "more_body": True,
            },
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, object]:
        return next(messages)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/files",
        "headers": [(b"content-type", b"multipart/form-data; boundary=xyz")],
    }
    scratch = tmp_path / "scratch"
    with pytest.raises(UploadInterrupted):
        async with receive_upload(Request(scope, receive), limit=MB, scratch_dir=scratch):
            pass
    assert list(scratch.iterdir()) == []
