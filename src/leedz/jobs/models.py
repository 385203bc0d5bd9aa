from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, TenantOwned, created_at, updated_at, uuid_pk


class JobType(enum.StrEnum):
    SEARCH = "SEARCH"
    SURVEY = "SURVEY"
    WHATSAPP_SEND = "WHATSAPP_SEND"
    WHATSAPP_BULK = "WHATSAPP_BULK"
    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    REPORT_GENERATE = "REPORT_GENERATE"
    BULK_STATUS_UPDATE = "BULK_STATUS_UPDATE"
    BULK_DELETE = "BULK_DELETE"


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


AGENT_RUN_TYPES = (JobType.SEARCH, JobType.SURVEY, JobType.WHATSAPP_SEND, JobType.WHATSAPP_BULK)
"""The types agents run; every other type runs on the server's worker (jobs/work.py)."""
AGENT_RUN_SQL = ", ".join(f"'{t.value}'" for t in AGENT_RUN_TYPES)

job_type_enum = Enum(JobType, name="job_type", values_callable=lambda e: [m.value for m in e])
job_status_enum = Enum(JobStatus, name="job_status", values_callable=lambda e: [m.value for m in e])


class Job(TenantOwned, Base):
    """A unit of work, executed by an agent under a lease or by the server."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        # The agent holding the lease belongs to the same tenant as the job.
        ForeignKeyConstraint(["tenant_id", "agent_id"], ["agents.tenant_id", "agents.id"]),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_range"),
        # Agents run agent-run types, the worker the rest (migration 20261201_1800).
        CheckConstraint(
            f"agent_id IS NULL OR type IN ({AGENT_RUN_SQL})", name="agent_runs_agent_types"
        ),
        CheckConstraint(
            f"worker_id IS NULL OR type NOT IN ({AGENT_RUN_SQL})", name="worker_runs_server_types"
        ),
        CheckConstraint("length(worker_id) <= 200", name="worker_id_length"),
        Index(None, "tenant_id", "status"),
        Index(None, "tenant_id", "created_at", "id"),
        # The claim query: pending jobs of a tenant in priority-then-age order (id breaks ties).
        Index(
            "ix_jobs_claimable",
            "tenant_id",
            text("priority DESC"),
            "created_at",
            "id",
            postgresql_where=text("status = 'PENDING'"),
        ),
        # The reaper: running jobs by lease expiry.
        Index(
            "ix_jobs_lease_expiry",
            "lease_expires_at",
            postgresql_where=text("status = 'RUNNING'"),
        ),
        Index(
            "ix_jobs_running_by_agent",
            "tenant_id",
            "agent_id",
            postgresql_where=text("status = 'RUNNING'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[JobType] = mapped_column(job_type_enum)
    status: Mapped[JobStatus] = mapped_column(
        job_status_enum, server_default=JobStatus.PENDING.value
    )
    progress: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    priority: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    lease_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A server-run job: the worker process holding its lease (agent_id stays NULL), and what its
    # last committed batch stored, handed to the next worker after a crash (jobs/work.py).
    worker_id: Mapped[str | None] = mapped_column(Text)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the agent reports it began an irreversible action (a message went out): such a
    # job is never handed to another agent again.
    delivery_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The monthly period whose quota this job reserved, released if it ends without running.
    quota_period: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = updated_at()
