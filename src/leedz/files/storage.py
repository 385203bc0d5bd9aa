"""Where the bytes of stored files live: one small interface, two backends.

`LocalStorage` (the default) keeps objects under `<data dir>/files/`; `S3Storage` (when
`LEEDZ_STORAGE_URL=s3://bucket/prefix`) in any S3-compatible store (S3, R2, MinIO), through
boto3 in a worker thread. Every object is named by an `ObjectKey`, `<tenant id>/<file id>`:
a key cannot be built outside its tenant's prefix, and the store never sees a client's name.

A download is either a local file to stream (`LocalDownload`) or a signed URL that expires
(`SignedDownload`, answered as a 302).

The process holds one store: `use_storage()` sets it (the app at start, from its settings);
`current_storage()` returns it, or builds it from the environment's settings the first time
(a worker process that never built an app).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from leedz.config import ConfigurationError, Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ObjectKey:
    """An object's name in the store: always under its tenant's prefix."""

    tenant_id: uuid.UUID
    file_id: uuid.UUID

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.file_id}"

    @classmethod
    def parse(cls, text: str) -> ObjectKey:
        """The key written `<tenant id>/<file id>`; ValueError for anything else."""
        tenant, _, file = text.partition("/")
        key = cls(uuid.UUID(tenant), uuid.UUID(file))
        if str(key) != text:
            raise ValueError(f"not an object key: {text!r}")
        return key


@dataclass(frozen=True, slots=True)
class LocalDownload:
    """Stream this file."""

    path: Path


@dataclass(frozen=True, slots=True)
class SignedDownload:
    """Redirect to this URL; it stops working after its expiry."""

    url: str


Download = LocalDownload | SignedDownload
Source = Path | AsyncIterable[bytes]


class ObjectMissing(LookupError):
    """The store has no object under the key (purged, or never written)."""


class Storage(ABC):
    @abstractmethod
    async def put(self, key: ObjectKey, source: Source, *, content_type: str) -> None:
        """Store `source` (a local file, or an async stream of bytes) under `key`, whole or
        not at all."""

    @abstractmethod
    def local_copy(self, key: ObjectKey) -> contextlib.AbstractAsyncContextManager[Path]:
        """A local path holding the object's bytes while the block runs (read it, never
        write it); anything fetched for it is removed after."""

    @abstractmethod
    async def delete(self, key: ObjectKey) -> None:
        """Remove the object; an object already gone is not an error."""

    @abstractmethod
    async def exists(self, key: ObjectKey) -> bool: ...

    @abstractmethod
    async def keys_older_than(self, cutoff: datetime) -> list[ObjectKey]:
        """The keys of the objects last written before `cutoff` (the orphan sweep's list)."""

    @abstractmethod
    async def download(
        self, key: ObjectKey, *, filename: str, content_type: str, expires_in: int
    ) -> Download:
        """How a client gets the bytes: a local file to stream, or a URL valid `expires_in`
        seconds that names the file `filename`."""


async def _spool(chunks: AsyncIterable[bytes], into: Path) -> None:
    with into.open("wb") as out:
        async for chunk in chunks:
            out.write(chunk)


class LocalStorage(Storage):
    """Objects as files under `root` (`<root>/<tenant id>/<file id>`), written to a temporary
    name beside them and renamed, so that a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: ObjectKey) -> Path:
        return self.root / str(key.tenant_id) / str(key.file_id)

    async def put(self, key: ObjectKey, source: Source, *, content_type: str) -> None:
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        partial = Path(temporary)
        try:
            if isinstance(source, Path):
                await asyncio.to_thread(shutil.copyfile, source, partial)
            else:
                await _spool(source, partial)
            os.replace(partial, target)
        finally:
            await asyncio.to_thread(partial.unlink, missing_ok=True)

    @asynccontextmanager
    async def _local_copy(self, key: ObjectKey) -> AsyncIterator[Path]:
        path = self.path_of(key)
        if not path.is_file():
            raise ObjectMissing(str(key))
        # Already local: no copy. The purge leaves a file alone while it is in use (a use
        # moves its expiry on), and an open file survives its unlinking anyway.
        yield path

    def local_copy(self, key: ObjectKey) -> contextlib.AbstractAsyncContextManager[Path]:
        return self._local_copy(key)

    async def delete(self, key: ObjectKey) -> None:
        # The tenant's directory stays: removing it when empty would race a `put` between
        # its mkdir and its temporary file.
        self.path_of(key).unlink(missing_ok=True)

    async def exists(self, key: ObjectKey) -> bool:
        return self.path_of(key).is_file()

    async def keys_older_than(self, cutoff: datetime) -> list[ObjectKey]:
        def scan() -> list[ObjectKey]:
            found = []
            for path in self.root.glob("*/*"):
                try:
                    key = ObjectKey(uuid.UUID(path.parent.name), uuid.UUID(path.name))
                    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                except (ValueError, OSError):  # a write in progress (.incoming-…), or gone
                    continue
                if written < cutoff:
                    found.append(key)
            return found

        return await asyncio.to_thread(scan)

    async def download(
        self, key: ObjectKey, *, filename: str, content_type: str, expires_in: int
    ) -> Download:
        path = self.path_of(key)
        if not path.is_file():
            raise ObjectMissing(str(key))
        return LocalDownload(path)


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending with "/"

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigurationError(f"LEEDZ_STORAGE_URL: not s3://bucket[/prefix]: {url!r}")
        prefix = parts.path.strip("/")
        return cls(bucket=parts.netloc, prefix=f"{prefix}/" if prefix else "")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266, RFC 5987)."""

    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class S3Storage(Storage):
    """Objects in an S3-compatible bucket under `<prefix><tenant id>/<file id>`. boto3 is
    synchronous: every call runs in a worker thread (one client, which boto3 allows to share
    between threads)."""

    def __init__(self, location: S3Location, client: S3Client) -> None:
        self.location = location
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        import boto3
        from botocore.config import Config

        if settings.storage_url is None:
            raise ConfigurationError("S3Storage needs LEEDZ_STORAGE_URL=s3://bucket[/prefix]")
        options: dict[str, Any] = {}
        if settings.s3_access_key_id and settings.s3_secret_access_key:
            options["aws_access_key_id"] = settings.s3_access_key_id
            options["aws_secret_access_key"] = settings.s3_secret_access_key.get_secret_value()
        # Credentials otherwise come from boto3's own chain (AWS_ACCESS_KEY_ID, profiles, roles).
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": settings.s3_addressing_style},
                retries={"max_attempts": 3, "mode": "standard"},
            ),
            **options,
        )
        return cls(S3Location.parse(settings.storage_url), client)

    def name_of(self, key: ObjectKey) -> str:
        return f"{self.location.prefix}{key}"

    async def put(self, key: ObjectKey, source: Source, *, content_type: str) -> None:
        if not isinstance(source, Path):
            with tempfile.TemporaryDirectory(prefix="leedz-put-") as scratch:
                spooled = Path(scratch) / "object"
                await _spool(source, spooled)
                await self.put(key, spooled, content_type=content_type)
            return
        # upload_file sends large files in parts; an interrupted multipart upload never
        # becomes an object.
        await asyncio.to_thread(
            self.client.upload_file,
            str(source),
            self.location.bucket,
            self.name_of(key),
            ExtraArgs={"ContentType": content_type},
        )

    @asynccontextmanager
    async def _local_copy(self, key: ObjectKey) -> AsyncIterator[Path]:
        from botocore.exceptions import ClientError

        with tempfile.TemporaryDirectory(prefix="leedz-copy-") as scratch:
            path = Path(scratch) / "object"
            try:
                await asyncio.to_thread(
                    self.client.download_file, self.location.bucket, self.name_of(key), str(path)
                )
            except ClientError as exc:
                if _missing(exc):
                    raise ObjectMissing(str(key)) from exc
                raise
            yield path

    def local_copy(self, key: ObjectKey) -> contextlib.AbstractAsyncContextManager[Path]:
        return self._local_copy(key)

    async def delete(self, key: ObjectKey) -> None:
        await asyncio.to_thread(
            self.client.delete_object, Bucket=self.location.bucket, Key=self.name_of(key)
        )

    async def exists(self, key: ObjectKey) -> bool:
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(
                self.client.head_object, Bucket=self.location.bucket, Key=self.name_of(key)
            )
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    async def keys_older_than(self, cutoff: datetime) -> list[ObjectKey]:
        def scan() -> list[ObjectKey]:
            found = []
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=self.location.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"].removeprefix(self.location.prefix)
                    try:
                        key = ObjectKey.parse(name)
                    except ValueError:  # not ours: left alone
                        continue
                    if item["LastModified"] < cutoff:
                        found.append(key)
            return found

        return await asyncio.to_thread(scan)

    async def download(
        self, key: ObjectKey, *, filename: str, content_type: str, expires_in: int
    ) -> Download:
        url = await asyncio.to_thread(
            self.client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self.location.bucket,
                "Key": self.name_of(key),
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_in,
        )
        return SignedDownload(url)


def _missing(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")


def storage_for(settings: Settings) -> Storage:
    """The store the settings name: S3 for `s3://…`, else a directory in the data dir."""
    if settings.storage_url:
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.data_dir / "files")


_current: Storage | None = None


def use_storage(storage: Storage) -> Storage:
    """Make `storage` the process's store (the app does at start); returns it."""
    global _current  # noqa: PLW0603 - the one store of the process, set at start
    _current = storage
    return storage


def current_storage() -> Storage:
    """The process's store; built from the environment's settings if none was set."""
    global _current  # noqa: PLW0603 - see use_storage
    if _current is None:
        _current = storage_for(get_settings())
    return _current
