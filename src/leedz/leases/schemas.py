from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from leedz.jobs.models import JobType
from leedz.jobs.schemas import JobOut
from leedz.kit.schemas import ApiIn, ApiModel


class HeartbeatIn(ApiIn):
    # The jobs the agent is working on. Given: only their leases are extended, and the answer
    # lists those it must drop. Omitted: every lease the agent holds is extended.
    in_flight: list[UUID] | None = Field(default=None, max_length=100)


class LeaseOut(ApiModel):
    job_id: UUID
    lease_id: UUID
    lease_expires_at: datetime


class HeartbeatOut(ApiModel):
    server_time: datetime
    lease_seconds: int
    leases: list[LeaseOut]
    # Jobs the agent listed that it no longer holds (released, cancelled, finished): stop them.
    drop: list[UUID]
    # Jobs it holds that a user cancelled: stop them and answer with `fail`.
    cancel: list[UUID]


class ClaimIn(ApiIn):
    types: list[JobType] | None = Field(default=None, max_length=len(JobType))


class ClaimOut(ApiModel):
    job: JobOut
    lease_id: UUID
    lease_expires_at: datetime


class ProgressIn(ApiIn):
    lease_id: UUID
    progress: int = Field(ge=0, le=100)
    message: str | None = Field(default=None, max_length=500)
    # WHATSAPP_*: set before the first message goes out. Such a job is never handed to another
    # agent again: a lost lease fails it rather than risk sending twice.
    delivery_started: bool = False


class ProgressOut(ApiModel):
    job_id: UUID
    progress: int
    lease_expires_at: datetime
    cancel_requested: bool


class CompleteIn(ApiIn):
    lease_id: UUID
    output: dict[str, Any] | None = None


class Failure(ApiIn):
    code: str = Field(min_length=1, max_length=100)
    message: str = Field(default="", max_length=2000)


class FailIn(ApiIn):
    lease_id: UUID
    error: Failure
    # True: another attempt may succeed (requeued while attempts remain). False: final.
    retryable: bool = False
