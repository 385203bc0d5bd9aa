from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import phonenumbers
from pydantic import AfterValidator, Field, StringConstraints

from leedz.jobs.models import JobStatus, JobType
from leedz.kit.schemas import ApiIn, ApiModel, HttpUrlText

Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
"""E.164: a plus, a country code, up to 15 digits."""


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return code


Country = Annotated[str | None, Field(default=None, max_length=2), AfterValidator(_country)]
"""Where the job looks: the country of a phone without a country code in what it finds, when
the record names none (resolution; else the tenant's default country)."""


class SearchInput(ApiIn):
    query: str = Field(min_length=1, max_length=500)
    location: str | None = Field(default=None, max_length=200)
    max_results: int = Field(default=20, ge=1, le=500)
    country: Country = None


class SurveyInput(ApiIn):
    urls: list[HttpUrlText] = Field(min_length=1, max_length=100)
    country: Country = None


class WhatsappSendInput(ApiIn):
    phone: Phone
    message: str = Field(min_length=1, max_length=4096)


class WhatsappBulkInput(ApiIn):
    phones: list[Phone] = Field(min_length=1, max_length=1000)
    message: str = Field(min_length=1, max_length=4096)


AGENT_INPUTS: dict[JobType, type[ApiIn]] = {
    JobType.SEARCH: SearchInput,
    JobType.SURVEY: SurveyInput,
    JobType.WHATSAPP_SEND: WhatsappSendInput,
    JobType.WHATSAPP_BULK: WhatsappBulkInput,
}


class JobCreate(ApiIn):
    type: JobType
    input: dict[str, Any]
    priority: int = Field(default=0, ge=-10, le=10)


class JobOut(ApiModel):
    id: UUID
    type: JobType
    status: JobStatus
    progress: int
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    priority: int
    attempts: int
    agent_id: UUID | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class EvidenceOut(ApiModel):
    id: UUID
    type: str
    title: str
    source: str
    url: str | None
    snippet: str
    confidence: str
    raw_data: dict[str, Any] | None
    hash: str
    collected_at: datetime
    created_at: datetime
