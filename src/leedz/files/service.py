"""Stored files: uploads for imports, exports and import reports, and their expiry.

The API other features call (each a tenant transaction `tx`, as a member or a job's creator):

- `store_generated(tx, *, path: Path, name: str, purpose: FilePurpose, content_type: str,
  file_format: str | None = None) -> FileRow` stores a file a job wrote (an EXPORT, an
  IMPORT_REPORT) as the transaction's user; it expires 7 days later. Its `id` is the job
  output's `fileId` / `reportFileId`.
- `local_copy(tx, *, file_id: UUID, purpose: FilePurpose | None = FilePurpose.IMPORT)
  -> AsyncContextManager[Path]`: `async with files.local_copy(tx, file_id=…) as path:` gives a
  local path to read (never write) the file's bytes while the block runs; it counts as a use
  (the upload's 24 h start again). A file that is not the tenant's, has expired, or is not of
  `purpose` (None: any) raises `FileNotFound` (404 `file_not_found`). `tx` is used on entry
  only (a read and an UPDATE of the row: it must be a transaction that may write); the path
  stays valid until the block ends, also after `tx` has ended, so a job can take it in its
  first batch and read it across the next ones (`contextlib.AsyncExitStack`).

Who may read a file (`get`, `download`): its creator, or a member whose role may do what the
file is for — `leads:import` for an upload or an import report, `leads:export` for an export;
anyone else gets 403, another tenant's file is a 404. Uploads expire 24 h after their last use,
generated files 7 days after they were made; an expired file is a 404 until the purge
(files/purge.py) deletes its row and its object.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from leedz.access.context import Actor
from leedz.access.permissions import Permission
from leedz.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from leedz.files.models import FilePurpose
from leedz.files.repository import FileRow, Files
from leedz.files.schemas import FileOut
from leedz.files.storage import Download, ObjectKey, ObjectMissing, current_storage
from leedz.kit.db import Tx

# An upload lives this long after its last use; a generated file this long after it was made.
UPLOAD_IDLE = timedelta(hours=24)
GENERATED_KEEP = timedelta(days=7)
MAX_NAME = 255


class FileNotFound(NotFound):
    code, title = "file_not_found", "No such file"


class UploadTooLarge(PayloadTooLarge):
    code, title = "upload_too_large", "The file is too large"


class UnsupportedFile(ValidationFailed):
    code, title = "unsupported_file", "Not a CSV or XLSX file"


class UploadMalformed(ValidationFailed):
    code, title = "upload_malformed", "Not a readable multipart upload"


class FileFieldMissing(ValidationFailed):
    code, title = "file_field_missing", "The upload has no `file` part"


class UploadPurposeInvalid(ValidationFailed):
    code, title = "upload_purpose_invalid", "Unknown upload purpose"


@dataclass(frozen=True, slots=True)
class ReceivedUpload:
    """An upload received whole into a local file, hashed and read by the import reader."""

    path: Path
    name: str
    size: int
    sha256: str
    content_type: str
    file_format: str | None
    detected: dict[str, Any] | None


def file_out(row: FileRow) -> FileOut:
    return FileOut(
        id=row.id,
        name=row.name,
        size=row.size,
        sha256=row.sha256,
        purpose=row.purpose,
        content_type=row.content_type,
        format=row.format,
        created_by=row.created_by_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        detected=row.detected,
    )


def clean_name(name: str | None, *, default: str = "file") -> str:
    """The name a file is shown and downloaded under: its last path segment (a browser may
    send `C:\\…\\x.csv`), no control characters, at most 255 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    if len(base) > MAX_NAME:
        _stem, dot, extension = base.rpartition(".")
        keep = extension if dot and len(extension) <= 16 else ""
        base = base[: MAX_NAME - len(keep) - 1] + "." + keep if keep else base[:MAX_NAME]
    return base or default


async def _store(
    tx: Tx,
    *,
    path: Path,
    name: str,
    purpose: FilePurpose,
    content_type: str,
    file_format: str | None,
    size: int,
    sha256: str,
    lifetime: timedelta,
    detected: dict[str, Any] | None,
) -> FileRow:
    """The object first, then its row; a row that fails takes the object back out. (A
    transaction rolled back later leaves an object without a row: `purge_orphans` finds it.)"""
    storage = current_storage()
    key = ObjectKey(tx.current_tenant, uuid.uuid4())
    await storage.put(key, path, content_type=content_type)
    try:
        return await Files(tx).insert(
            file_id=key.file_id,
            name=clean_name(name),
            size=size,
            sha256=sha256,
            purpose=purpose,
            content_type=content_type,
            file_format=file_format,
            storage_key=str(key),
            created_by=tx.user_id,
            lifetime=lifetime,
            detected=detected,
        )
    except BaseException:
        await storage.delete(key)
        raise


async def store_upload(tx: Tx, actor: Actor, *, upload: ReceivedUpload) -> FileOut:
    """Store an upload for an import (checked, hashed and read already); it lives 24 h from
    its last use."""
    row = await _store(
        tx,
        path=upload.path,
        name=upload.name,
        purpose=FilePurpose.IMPORT,
        content_type=upload.content_type,
        file_format=upload.file_format,
        size=upload.size,
        sha256=upload.sha256,
        lifetime=UPLOAD_IDLE,
        detected=upload.detected,
    )
    return file_out(row)


async def store_generated(
    tx: Tx,
    *,
    path: Path,
    name: str,
    purpose: FilePurpose,
    content_type: str,
    file_format: str | None = None,
) -> FileRow:
    """Store a file a job wrote (an export, an import report) as the transaction's user; it
    lives 7 days."""
    if purpose is FilePurpose.IMPORT:
        raise ValueError("an IMPORT file is an upload: POST /v1/files")
    size, sha256 = await _measure(path)
    return await _store(
        tx,
        path=path,
        name=name,
        purpose=purpose,
        content_type=content_type,
        file_format=file_format,
        size=size,
        sha256=sha256,
        lifetime=GENERATED_KEEP,
        detected=None,
    )


async def _measure(path: Path) -> tuple[int, str]:
    import asyncio
    import hashlib

    def measure() -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as source:
            while chunk := source.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    return await asyncio.to_thread(measure)


def _key(row: FileRow) -> ObjectKey:
    key = ObjectKey.parse(row.storage_key)
    if key.tenant_id != row.tenant_id:  # never written so; refuse rather than cross tenants
        raise RuntimeError(f"file {row.id}: storage key outside its tenant")
    return key


def _idle_lifetime(row: FileRow) -> timedelta | None:
    return UPLOAD_IDLE if row.purpose is FilePurpose.IMPORT else None


@asynccontextmanager
async def local_copy(
    tx: Tx, *, file_id: uuid.UUID, purpose: FilePurpose | None = FilePurpose.IMPORT
) -> AsyncIterator[Path]:
    """A local path holding the file's bytes while the block runs; a use of the file."""
    row = await Files(tx).get(file_id)
    if row is None or (purpose is not None and row.purpose is not purpose):
        raise FileNotFound("No such file (or it has expired)", fileId=str(file_id))
    touched = await Files(tx).touch(file_id, idle_lifetime=_idle_lifetime(row))
    if touched is None:
        raise FileNotFound("No such file (or it has expired)", fileId=str(file_id))
    try:
        async with current_storage().local_copy(_key(touched)) as path:
            yield path
    except ObjectMissing as exc:
        raise FileNotFound("The file's content is gone", fileId=str(file_id)) from exc


def _permission_for(purpose: FilePurpose) -> Permission:
    return Permission.LEADS_EXPORT if purpose is FilePurpose.EXPORT else Permission.LEADS_IMPORT


async def _readable(tx: Tx, actor: Actor, file_id: uuid.UUID) -> FileRow:
    row = await Files(tx).get(file_id)
    if row is None:
        raise FileNotFound("No such file (or it has expired)", fileId=str(file_id))
    permission = _permission_for(row.purpose)
    if row.created_by_id != actor.user_id and not actor.can(permission):
        raise Forbidden(
            f"Your role ({actor.role.value}) lacks the permission {permission.value}"
            " and you did not create this file",
            permission=permission.value,
        )
    return row


async def get(tx: Tx, actor: Actor, file_id: uuid.UUID) -> FileOut:
    """A file the actor may read."""
    return file_out(await _readable(tx, actor, file_id))


async def download(
    tx: Tx, actor: Actor, file_id: uuid.UUID, *, url_seconds: int
) -> tuple[FileOut, Download]:
    """How the actor gets a file's bytes (a local file to stream, or a signed URL valid
    `url_seconds`); a use of the file."""
    row = await _readable(tx, actor, file_id)
    touched = await Files(tx).touch(file_id, idle_lifetime=_idle_lifetime(row)) or row
    try:
        answer = await current_storage().download(
            _key(touched),
            filename=touched.name,
            content_type=touched.content_type,
            expires_in=url_seconds,
        )
    except ObjectMissing as exc:
        raise FileNotFound("The file's content is gone", fileId=str(file_id)) from exc
    return file_out(touched), answer
