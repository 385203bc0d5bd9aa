from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from starlette.responses import MalformedRangeHeader

from leedz.access.context import CurrentActor, TenantTx, authenticated, check_permission
from leedz.access.permissions import Permission
from leedz.files import service as files
from leedz.files.receive import receive_upload
from leedz.files.schemas import FileOut
from leedz.files.storage import LocalDownload, content_disposition
from leedz.kit.deps import settings_of

router = APIRouter(prefix="/files", tags=["files"])

# Exempt from the app's body limit (app.py): receive.py streams and limits this body itself.
UPLOAD_ROUTE = ("POST", "/v1/files")

CONTENT_TYPES = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Detection(Protocol):
    """What the import reader answers (imports/reader.py `Detected`)."""

    @property
    def format(self) -> str: ...

    def as_json(self) -> dict[str, Any]: ...


class Detect(Protocol):
    """The import reader's `detect`: blocking; raises a 422 `LeedzError` for a file it cannot
    read. api.py gives it to the app (`app.state.detect_upload`): the import feature reads
    stored files, so files cannot import it."""

    def __call__(self, path: Path, *, name: str) -> Detection: ...


class _FileDownload(FileResponse):
    """Starlette's FileResponse, which answers a `Range` it cannot parse with a plain-text 400
    (`pages=1-2`, `bytes=abc`, `bytes=9-2`). RFC 9110 (14.2): a server MUST ignore a range
    unit it does not understand and MAY ignore an invalid range; so such a Range is ignored
    and the whole file is sent (200). Valid ranges still get 206, unsatisfiable ones 416."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            return []


def _detector(request: Request) -> Detect:
    detect: Detect = request.app.state.detect_upload
    return detect


_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "purpose": {"type": "string", "enum": ["import"], "default": "import"},
                },
            }
        }
    },
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={413: {"description": "The file exceeds LEEDZ_MAX_UPLOAD_BYTES"}},
)
async def upload_file(request: Request, response: Response) -> FileOut:
    """Upload a CSV or XLSX file to import (multipart `file`, `purpose=import`; at most 50 MB,
    counted as it streams). Answers what the import reader detected in it. Needs
    `leads:import`; nothing is stored unless the whole file arrived and could be read."""
    settings = settings_of(request)
    # The caller is checked before a byte of the body is read; no connection is held while
    # the body streams in (a slow upload would keep one of the pool's few from every request).
    async with authenticated(request) as auth:
        check_permission(auth.actor, Permission.LEADS_IMPORT)
    async with receive_upload(
        request, limit=settings.max_upload_bytes, scratch_dir=settings.data_dir / "tmp"
    ) as received:
        purpose = received.fields.get("purpose", "import")
        if purpose.lower() != "import":
            raise files.UploadPurposeInvalid(
                "`purpose` must be `import` (exports and reports are written by jobs)"
            )
        name = files.clean_name(received.filename, default="upload")
        detected = await asyncio.to_thread(_detector(request), received.path, name=name)
        file_format = str(getattr(detected.format, "value", detected.format))
        upload = files.ReceivedUpload(
            path=received.path,
            name=name,
            size=received.size,
            sha256=received.sha256,
            content_type=CONTENT_TYPES.get(file_format, "application/octet-stream"),
            file_format=file_format,
            detected=detected.as_json(),
        )
        async with authenticated(request) as auth:
            check_permission(auth.actor, Permission.LEADS_IMPORT)
            created = await files.store_upload(auth.tx, auth.actor, upload=upload)
    response.headers["Location"] = f"/v1/files/{created.id}"
    return created


@router.get("/{file_id}")
async def get_file(file_id: UUID, tx: TenantTx, actor: CurrentActor) -> FileOut:
    """A stored file: its creator, or `leads:import` (an upload, an import report) or
    `leads:export` (an export), may read it."""
    return await files.get(tx, actor, file_id)


@router.get(
    "/{file_id}/download",
    response_class=Response,
    responses={
        200: {
            # What the file was stored as: an upload's detected format, an export's or a
            # report's own type (exports/writers.py, imports/job.py).
            "content": {
                media: {}
                for media in (
                    "text/csv",
                    "text/csv; charset=utf-8",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "application/octet-stream",
                )
            },
            "description": "The file's bytes",
        },
        302: {"description": "A signed URL that expires (S3-compatible storage)"},
    },
)
async def download_file(
    file_id: UUID, tx: TenantTx, actor: CurrentActor, request: Request
) -> Response:
    """The file's bytes, streamed (local storage), or a 302 to a signed URL that expires."""
    stored, answer = await files.download(
        tx, actor, file_id, url_seconds=settings_of(request).download_url_seconds
    )
    if isinstance(answer, LocalDownload):
        return _FileDownload(
            answer.path,
            media_type=stored.content_type,
            headers={
                "Content-Disposition": content_disposition(stored.name),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )
    return RedirectResponse(
        answer.url,
        status_code=status.HTTP_302_FOUND,
        headers={"Cache-Control": "private, no-store"},
    )
