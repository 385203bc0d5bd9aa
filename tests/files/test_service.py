"""The files service other features call: store a generated file, read an upload locally."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from leedz.files import service as files
from leedz.files.models import FilePurpose
from leedz.files.storage import LocalStorage, ObjectKey, current_storage
from leedz.kit.db import Database
from tests.factories.accounts import signup


async def test_a_generated_file_is_stored_and_read_back(
    client: httpx.AsyncClient, app: FastAPI, owner: asyncpg.Connection, tmp_path: Path
) -> None:
    boss = await signup(client, tenant_name="Files Co")
    content = "الاسم,الجوال\nمحمد,+966501234567\n".encode()
    source = tmp_path / "export.csv"
    source.write_bytes(content)
    db: Database = app.state.db
    tenant, user = uuid.UUID(boss.tenant_id), uuid.UUID(boss.user_id)
    async with db.transaction(tenant_id=tenant, user_id=user) as tx:
        row = await files.store_generated(
            tx, path=source, name="تصدير.csv", purpose=FilePurpose.EXPORT, content_type="text/csv"
        )
    assert row.size == len(content)
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert row.created_by_id == user
    assert row.storage_key == f"{tenant}/{row.id}"
    expires = await owner.fetchval(
        "SELECT expires_at - created_at FROM files WHERE id = $1", row.id
    )
    assert expires.days == 7
    storage = current_storage()
    assert isinstance(storage, LocalStorage)
    assert await storage.exists(ObjectKey(tenant, row.id))
    async with (
        db.transaction(tenant_id=tenant, user_id=user) as tx,
        files.local_copy(tx, file_id=row.id, purpose=None) as path,
    ):
        assert path.read_bytes() == content
    # An import reads uploads only: an export is not one.
    async with db.transaction(tenant_id=tenant, user_id=user) as tx:
        with pytest.raises(files.FileNotFound):
            async with files.local_copy(tx, file_id=row.id):
                pass


async def test_the_local_copy_outlives_its_transaction(
    client: httpx.AsyncClient, app: FastAPI, tmp_path: Path
) -> None:
    """A job takes the path in one batch and reads it in the next ones."""
    import contextlib

    boss = await signup(client, tenant_name="Jobs Co")
    content = b"name\nx\n"
    uploaded = await client.post(
        "/v1/files", files={"file": ("a.csv", content, "text/csv")}, headers=boss.headers
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uuid.UUID(uploaded.json()["id"])
    db: Database = app.state.db
    tenant, user = uuid.UUID(boss.tenant_id), uuid.UUID(boss.user_id)
    async with contextlib.AsyncExitStack() as stack:
        async with db.transaction(tenant_id=tenant, user_id=user) as tx:
            path = await stack.enter_async_context(files.local_copy(tx, file_id=file_id))
        async with db.transaction(tenant_id=tenant, user_id=user):
            assert path.read_bytes() == content
