from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from leedz.jobs.models import AGENT_RUN_SQL, JobType, job_type_enum
from leedz.kit.models import Base, TenantOwned, created_at, updated_at, uuid_pk


class Agent(TenantOwned, Base):
    """One install of the Chrome extension (or the reference agent) that executes jobs."""

    __tablename__ = "agents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("max_concurrency BETWEEN 1 AND 100", name="max_concurrency_range"),
        # Server-run types are the worker's (migration 20261201_1800).
        CheckConstraint(
            f"capabilities <@ ARRAY[{AGENT_RUN_SQL}]::job_type[]", name="capabilities_agent_types"
        ),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(50))
    capabilities: Mapped[list[JobType]] = mapped_column(
        ARRAY(job_type_enum), server_default=text("'{}'")
    )
    max_concurrency: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    token_prefix: Mapped[str] = mapped_column(String(32))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
