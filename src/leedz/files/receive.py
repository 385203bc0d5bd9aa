"""Receiving a multipart upload: streamed from the request into a scratch file, never whole in
memory, hashed and counted as it arrives.

python-multipart's push parser is fed the request's body chunk by chunk (`request.stream()`);
the bytes of the `file` part go to a scratch file under `<data dir>/tmp/` as they come. The
file's bytes are limited (`LEEDZ_MAX_UPLOAD_BYTES`, 50 MB): one byte more and the upload stops
with 413, the scratch file removed. The body as a whole may exceed that only by
`ENVELOPE_BYTES` (boundaries, part headers, the `purpose` field); a declared Content-Length
beyond both is refused before a byte is read. The app's general body limit does not apply to
this route (app.py exempts it): this module is its limit.

Parts: exactly one `file` (with a filename) and at most one `purpose` (a short text); any other
part, a second file, a part without a name, a body that ends before its closing boundary, or
a body that is not multipart/form-data at all is refused (422 `upload_malformed` or 415).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from leedz.errors import LeedzError
from leedz.files.service import FileFieldMissing, UploadMalformed, UploadTooLarge

ENVELOPE_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1024
FIELDS = frozenset({"purpose"})


# `filename*=<charset>'<language>'<percent-encoded>` (RFC 5987 / RFC 8187). RFC 7578 says a
# form should not send it, but .NET's HttpClient does for a non-ASCII name, next to an RFC 2047
# `filename="=?utf-8?B?…?="` fallback; python-multipart's parse_options_header drops it.
_FILENAME_STAR = re.compile(
    rb";\s*filename\*\s*=\s*([A-Za-z0-9_-]*)'[^']*'([^;\s]*)", re.IGNORECASE
)


# A quoted string of the header (`filename="a; filename*=…"` holds no parameter).
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _extended_filename(disposition: bytes) -> str | None:
    """The part's `filename*`, decoded (None when absent or in an unknown charset). Looked
    for outside quoted strings: inside one it is part of another parameter's value."""
    match = _FILENAME_STAR.search(_QUOTED.sub(b'""', disposition))
    if match is None:
        return None
    charset = match.group(1).decode("ascii").lower() or "utf-8"
    try:
        return unquote(match.group(2).decode("ascii"), encoding=charset, errors="replace")
    except (LookupError, UnicodeDecodeError):
        return None


class NotMultipart(LeedzError):
    status, code, title = 415, "unsupported_media_type", "Expected multipart/form-data"


class UploadInterrupted(LeedzError):
    """The client went away mid-upload (nobody reads the answer; the log says what it was)."""

    status, code, title = 400, "upload_interrupted", "The upload did not finish"


@dataclass
class Received:
    """The `file` part, in a scratch file that is removed when the receiving block ends."""

    path: Path
    filename: str
    size: int
    sha256: str
    fields: dict[str, str]


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


class _Receiver:
    """python-multipart's callbacks: collect fields, queue the file's bytes for the writer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self.digest = hashlib.sha256()
        self.pending: list[bytes] = []
        self.ended = False
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""

    def on_part_begin(self) -> None:
        self._part = _Part()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_FIELD_BYTES:
            raise UploadMalformed("A part header is too long")

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if not name:
            raise UploadMalformed("A part has no name (Content-Disposition: form-data; name=…)")
        self._part.name = name.decode("utf-8", "replace")
        if self._part.name == "file":
            if self.filename is not None:
                raise UploadMalformed("The upload has more than one `file` part")
            raw = options.get(b"filename")
            extended = _extended_filename(self._disposition)
            if raw is None and extended is None:
                raise UploadMalformed("The `file` part has no filename")
            filename = extended if extended is not None else (raw or b"").decode("utf-8", "replace")
            self._part.filename = self.filename = filename
        elif self._part.name not in FIELDS:
            raise UploadMalformed(f"Unexpected part `{self._part.name}`")
        elif self._part.name in self.fields:
            raise UploadMalformed(f"The part `{self._part.name}` is repeated")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part.filename is None:
            self._part.value += chunk
            if len(self._part.value) > MAX_FIELD_BYTES:
                raise UploadMalformed(f"The part `{self._part.name}` is too long")
            return
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadTooLarge(f"The file exceeds {self.limit} bytes", limit=self.limit)
        self.digest.update(chunk)
        self.pending.append(chunk)

    def on_part_end(self) -> None:
        if self._part.filename is None:
            self.fields[self._part.name] = self._part.value.decode("utf-8", "replace").strip()

    def on_end(self) -> None:
        self.ended = True


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise NotMultipart("Send the file as multipart/form-data (a `file` part)")
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadMalformed("The multipart Content-Type has no boundary")
    return boundary


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise UploadTooLarge(f"The file exceeds {limit} bytes", limit=limit)


@asynccontextmanager
async def receive_upload(
    request: Request, *, limit: int, scratch_dir: Path
) -> AsyncIterator[Received]:
    """Stream the request's multipart body; the `file` part lands in a scratch file that is
    removed when the block ends (on success or not)."""
    boundary = _boundary(request)
    _check_declared_length(request, limit)
    await asyncio.to_thread(scratch_dir.mkdir, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=scratch_dir, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            receiver = await _stream(request, boundary, receiver=_Receiver(limit), out=out)
        if receiver.filename is None:
            raise FileFieldMissing("The upload has no `file` part")
        yield Received(
            path=path,
            filename=receiver.filename,
            size=receiver.size,
            sha256=receiver.digest.hexdigest(),
            fields=receiver.fields,
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def _stream(
    request: Request, boundary: bytes, *, receiver: _Receiver, out: IO[bytes]
) -> _Receiver:
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_end": receiver.on_end,
        },
    )
    received = 0
    envelope = receiver.limit + ENVELOPE_BYTES
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > envelope:
                raise UploadTooLarge(
                    f"The file exceeds {receiver.limit} bytes", limit=receiver.limit
                )
            parser.write(chunk)
            if receiver.pending:
                data, receiver.pending = b"".join(receiver.pending), []
                await asyncio.to_thread(out.write, data)
        parser.finalize()
    except FormParserError as exc:
        raise UploadMalformed(f"Not a readable multipart body: {exc}") from exc
    except ClientDisconnect as exc:
        raise UploadInterrupted("The client disconnected before the upload ended") from exc
    if not receiver.ended:
        raise UploadMalformed("The multipart body ends before its closing boundary")
    return receiver
