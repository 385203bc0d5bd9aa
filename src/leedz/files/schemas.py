"""Stored files on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from leedz.files.models import FilePurpose
from leedz.kit.schemas import ApiModel


class FileOut(ApiModel):
    """A stored file. `detected` is what the import reader saw in an upload (format, encoding,
    delimiter, header, sampleRows, rowEstimate, suggestedMapping); null for generated files."""

    id: UUID
    name: str
    size: int
    sha256: str
    purpose: FilePurpose
    content_type: str
    format: str | None
    created_by: UUID | None
    created_at: datetime
    expires_at: datetime
    detected: dict[str, Any] | None
