from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from leedz.jobs.models import JobType
from leedz.kit.schemas import ApiIn, ApiModel, DisplayName


class AgentCreate(ApiIn):
    name: DisplayName
    version: str | None = Field(default=None, max_length=50)
    capabilities: list[JobType] | None = None
    max_concurrency: int = Field(default=1, ge=1, le=100)


class AgentOut(ApiModel):
    id: UUID
    name: str
    version: str | None
    capabilities: list[JobType]
    max_concurrency: int
    token_prefix: str
    user_id: UUID | None
    online: bool
    last_seen_at: datetime | None
    running_jobs: int
    revoked_at: datetime | None
    created_at: datetime


class AgentWithToken(ApiModel):
    agent: AgentOut
    token: str
