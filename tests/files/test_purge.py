"""Expiry: uploads 24 h after their last use, generated files 7 days; the purge deletes rows
and objects of expired files only, as a role that sees nothing else."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.app import create_app
from leedz.config import Settings
from leedz.files import service as files
from leedz.files.models import FilePurpose
from leedz.files.purge import FilePurger
from leedz.files.storage import LocalStorage, ObjectKey, current_storage
from leedz.kit.db import Database
from tests.factories.accounts import Account, on_plan, signup
from tests.factories.rows import create_tenant_with_rows
from tests.support.databases import APP_ROLE
from tests.support.live import LEEDZ, clean_env

CSV = "الاسم,الجوال\nمحمد,+966501234567\n".encode()


async def _upload(client: httpx.AsyncClient, account: Account) -> uuid.UUID:
    response = await client.post(
        "/v1/files", files={"file": ("a.csv", CSV, "text/csv")}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _expire(owner: asyncpg.Connection, file_id: uuid.UUID) -> None:
    await owner.execute(
        "UPDATE files SET expires_at = now() - interval '1 minute' WHERE id = $1", file_id
    )


def _purger(app: FastAPI) -> FilePurger:
    return FilePurger(
        app.state.db,
        current_storage(),
        role=app.state.settings.db_purger_role,
        interval=60,
    )


@pytest.fixture
async def boss(client: httpx.AsyncClient, owner: asyncpg.Connection) -> Account:
    account = await signup(client, tenant_name="Purge Co")
    await on_plan(owner, account, "PRO")
    return account


class TestPurge:
    async def test_expired_files_go_rows_and_objects_live_ones_stay(
        self, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, boss: Account
    ) -> None:
        other = await signup(client, tenant_name="Other Co")
        await on_plan(owner, other, "PRO")
        expired = [await _upload(client, boss), await _upload(client, other)]
        live = await _upload(client, boss)
        for file_id in expired:
            await _expire(owner, file_id)
        storage = current_storage()
        assert isinstance(storage, LocalStorage)
        keys = {
            row["id"]: ObjectKey.parse(row["storage_key"])
            for row in await owner.fetch("SELECT id, storage_key FROM files")
        }

        result = await _purger(app).purge_once()

        assert (result.files, result.tenants, result.skipped) == (2, 2, False)
        assert [r["id"] for r in await owner.fetch("SELECT id FROM files")] == [live]
        for file_id in expired:
            assert not await storage.exists(keys[file_id])
        assert await storage.exists(keys[live])
        again = await _purger(app).purge_once()
        assert again.files == 0

    async def test_a_store_that_fails_keeps_the_rows_for_the_next_pass(
        self, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, boss: Account
    ) -> None:
        file_id = await _upload(client, boss)
        await _expire(owner, file_id)

        class Unreachable(LocalStorage):
            async def delete(self, key: ObjectKey) -> None:
                raise ConnectionError("the store is away")

        broken = FilePurger(
            app.state.db,
            Unreachable(Path(app.state.settings.data_dir) / "files"),
            role=app.state.settings.db_purger_role,
            interval=60,
        )
        with pytest.raises(ConnectionError):
            await broken.purge_once()
        assert await owner.fetchval("SELECT count(*) FROM files") == 1
        assert (await _purger(app).purge_once()).files == 1
        assert await owner.fetchval("SELECT count(*) FROM files") == 0

    async def test_the_purger_role_sees_only_expired_files(
        self, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, boss: Account
    ) -> None:
        expired, live = await _upload(client, boss), await _upload(client, boss)
        await _expire(owner, expired)
        db: Database = app.state.db
        purger = app.state.settings.db_purger_role
        async with db.transaction(role=purger) as tx:
            seen = [r["id"] for r in await tx.raw.fetch("SELECT id FROM files")]
            # Even with the tenant set (which opens the tenant's rows to the request role).
            await tx.set_context(tenant_id=uuid.UUID(boss.tenant_id), user_id=None)
            with_tenant = [r["id"] for r in await tx.raw.fetch("SELECT id FROM files")]
            deleted = await tx.raw.execute("DELETE FROM files WHERE id = $1", live)
        assert seen == [expired]
        assert with_tenant == [expired]
        assert deleted == "DELETE 0"
        async with db.transaction(role=purger) as tx:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await tx.raw.execute("UPDATE files SET expires_at = now() + interval '1 year'")

    async def test_the_request_role_sees_no_file_without_a_tenant(
        self, client: httpx.AsyncClient, app: FastAPI, boss: Account
    ) -> None:
        await _upload(client, boss)
        async with app.state.db.transaction() as tx:
            role = await tx.raw.fetchval("SELECT current_user")
            assert await tx.raw.fetchval("SELECT count(*) FROM files") == 0
        assert role == APP_ROLE


class TestExpiry:
    async def test_a_use_moves_an_uploads_expiry_on(
        self, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, boss: Account
    ) -> None:
        file_id = await _upload(client, boss)
        await owner.execute(
            "UPDATE files SET last_used_at = now() - interval '23 hours',"
            " expires_at = now() + interval '1 hour' WHERE id = $1",
            file_id,
        )
        tenant, user = uuid.UUID(boss.tenant_id), uuid.UUID(boss.user_id)
        async with (
            app.state.db.transaction(tenant_id=tenant, user_id=user) as tx,
            files.local_copy(tx, file_id=file_id) as path,
        ):
            assert path.read_bytes() == CSV
        row = await owner.fetchrow(
            "SELECT now() - last_used_at < interval '1 minute' AS fresh,"
            " expires_at - last_used_at AS idle FROM files WHERE id = $1",
            file_id,
        )
        assert row is not None
        assert row["fresh"]
        assert row["idle"].total_seconds() == 24 * 3600

    async def test_a_download_does_not_extend_an_export(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        owner: asyncpg.Connection,
        boss: Account,
        tmp_path: Path,
    ) -> None:
        source = tmp_path / "export.csv"
        source.write_bytes(CSV)
        tenant, user = uuid.UUID(boss.tenant_id), uuid.UUID(boss.user_id)
        async with app.state.db.transaction(tenant_id=tenant, user_id=user) as tx:
            export = await files.store_generated(
                tx,
                path=source,
                name="export.csv",
                purpose=FilePurpose.EXPORT,
                content_type="text/csv",
            )
        before = await owner.fetchval("SELECT expires_at FROM files WHERE id = $1", export.id)
        response = await client.get(f"/v1/files/{export.id}/download", headers=boss.headers)
        assert response.status_code == 200
        assert response.content == CSV
        after = await owner.fetchval("SELECT expires_at FROM files WHERE id = $1", export.id)
        assert after == before

    async def test_an_expired_upload_cannot_be_read_by_an_import(
        self, client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, boss: Account
    ) -> None:
        file_id = await _upload(client, boss)
        await _expire(owner, file_id)
        tenant, user = uuid.UUID(boss.tenant_id), uuid.UUID(boss.user_id)
        async with app.state.db.transaction(tenant_id=tenant, user_id=user) as tx:
            with pytest.raises(files.FileNotFound):
                async with files.local_copy(tx, file_id=file_id):
                    pass


async def test_the_cli_purges_too(
    owner: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    """`leedz files purge`, for operators: one pass, what the server does periodically."""
    tenant = await create_tenant_with_rows(owner, "cli")
    await _expire(owner, tenant.ids["files"])
    process = await asyncio.create_subprocess_exec(
        *LEEDZ,
        "files",
        "purge",
        env={**clean_env(tmp_path), "DATABASE_URL": database_url},
        stdout=PIPE,
        stderr=PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "purged 1 files in 1 workspaces (0 objects without a file removed)" in out.decode()
    assert await owner.fetchval("SELECT count(*) FROM files") == 0


async def test_the_server_purges_periodically(
    owner: asyncpg.Connection, settings: Settings, database_url: str
) -> None:
    tenant = await create_tenant_with_rows(owner, "server")
    await _expire(owner, tenant.ids["files"])
    quick = settings.model_copy(update={"file_purge_interval_seconds": 0.2})
    app = create_app(quick, database_url=database_url)
    async with app.router.lifespan_context(app), asyncio.timeout(10):
        while await owner.fetchval("SELECT count(*) FROM files"):  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.05)


class TestOrphanSweep:
    async def test_old_objects_without_a_row_go_the_rest_stay(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        owner: asyncpg.Connection,
        boss: Account,
        tmp_path: Path,
    ) -> None:
        storage = current_storage()
        assert isinstance(storage, LocalStorage)
        kept = await _upload(client, boss)
        tenant = uuid.UUID(boss.tenant_id)
        source = tmp_path / "orphan.csv"
        source.write_bytes(CSV)
        # A rolled-back job's object, and one of a workspace deleted since.
        old_orphan, gone_tenant = (
            ObjectKey(tenant, uuid.uuid4()),
            ObjectKey(uuid.uuid4(), uuid.uuid4()),
        )
        fresh_orphan = ObjectKey(tenant, uuid.uuid4())  # its transaction may yet commit
        for key in (old_orphan, gone_tenant, fresh_orphan):
            await storage.put(key, source, content_type="text/csv")
        two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
        for key in (old_orphan, gone_tenant, ObjectKey(tenant, kept)):
            os.utime(storage.path_of(key), (two_days_ago, two_days_ago))

        swept = await _purger(app).sweep_orphans()

        assert swept == 2
        assert not await storage.exists(old_orphan)
        assert not await storage.exists(gone_tenant)
        assert await storage.exists(fresh_orphan)
        assert await storage.exists(ObjectKey(tenant, kept))  # old, but its row is there
        assert await owner.fetchval("SELECT count(*) FROM files") == 1
