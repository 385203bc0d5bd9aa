"""Stored files: uploads for imports, exports and import reports (the bytes live in `Storage`).

A row per file, tenant-owned under forced row-level security. `storage_key` names the object in
the configured store (`<tenant id>/<file id>`, under the store's own prefix); `expires_at` is
when the purge may delete both: an upload 24 h after it was last used, a generated file (an
export, an import report) 7 days after it was made. `detected` is what the import reader saw
in an upload (format, encoding, delimiter, header, sample rows, suggested mapping).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, TenantOwned, created_at, uuid_pk


class FilePurpose(enum.StrEnum):
    IMPORT = "IMPORT"  # an upload, read by an import job
    EXPORT = "EXPORT"  # written by an export job
    IMPORT_REPORT = "IMPORT_REPORT"  # an import's per-row report CSV


file_purpose_enum = Enum(
    FilePurpose, name="file_purpose", values_callable=lambda e: [m.value for m in e]
)


class StoredFile(TenantOwned, Base):
    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("storage_key"),
        # The creator is a member of the file's tenant; when they leave, the file stays.
        ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["memberships.tenant_id", "memberships.user_id"],
            ondelete="SET NULL (created_by_id)",
        ),
        CheckConstraint("size >= 0", name="size_not_negative"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        # The purge reads the due files of every tenant, oldest first.
        Index(None, "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[FilePurpose] = mapped_column(file_purpose_enum)
    content_type: Mapped[str] = mapped_column(String(200))
    format: Mapped[str | None] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime] = created_at()
    detected: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
