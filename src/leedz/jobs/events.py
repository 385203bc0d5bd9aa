"""Domain events of jobs, published after commit; the Socket.IO gateway turns them into emits."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from leedz.jobs.models import JobStatus, JobType


@dataclass(frozen=True)
class JobCreated:
    """A new PENDING job: the tenant's agents able to run it are told one is available."""

    tenant_id: UUID
    job_id: UUID
    job_type: JobType


@dataclass(frozen=True)
class JobsAvailable:
    """Jobs of these types went back to PENDING (a released lease): agents may claim them."""

    tenant_id: UUID
    job_types: tuple[JobType, ...]


@dataclass(frozen=True)
class JobUpdated:
    """A job's status or progress changed: the tenant's signed-in users see it live."""

    tenant_id: UUID
    job_id: UUID
    status: JobStatus
    progress: int


@dataclass(frozen=True)
class JobCancelRequested:
    """A RUNNING job is to stop: its agent is told (`job:cancel`)."""

    tenant_id: UUID
    job_id: UUID
    agent_id: UUID
