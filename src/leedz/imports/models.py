"""What an import did, row by row: the report's lines, and what its revert takes back.

One `import_rows` row per spreadsheet row an IMPORT job has been through, written in the same
transaction as the batch that handled the row: a worker killed mid-import leaves exactly the
rows of the committed batches, so the resumed run neither loses nor doubles a line. `lead_id`
is the lead the row created, updated or joined (or the duplicate it was skipped for);
`added_tags` the tags the row put on that lead that it did not have, `listed` whether the row
put the lead on the job's list: a revert removes those and only those. A dry run's rows are
deleted once its report is written.
"""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, TenantOwned


class RowAction(enum.StrEnum):
    """What an import did with a row (docs/imports.md, "Actions")."""

    CREATED = "created"
    UPDATED = "updated"
    JOINED = "joined"
    SKIPPED = "skipped"
    FAILED = "failed"


class ImportRow(TenantOwned, Base):
    __tablename__ = "import_rows"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "job_id"], ["jobs.tenant_id", "jobs.id"], ondelete="CASCADE"
        ),
        # A lead purged from the trash leaves the line (its report says what happened).
        ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            ondelete="SET NULL (lead_id)",
        ),
        CheckConstraint(
            "action IN ('created', 'updated', 'joined', 'skipped', 'failed')", name="action_known"
        ),
        CheckConstraint("row_number >= 2", name="row_after_header"),
        Index(None, "tenant_id", "lead_id"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    error: Mapped[str | None] = mapped_column(String(1000))
    added_tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'::text[]")
    )
    listed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
