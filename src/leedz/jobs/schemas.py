from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import phonenumbers
from pydantic import AfterValidator, Field, StringConstraints, field_validator

from leedz.jobs.models import JobStatus, JobType
from leedz.kit.schemas import ApiIn, ApiModel, HttpUrlText
from leedz.leads.fields import exportable, importable
from leedz.leads.models import LeadStatus
from leedz.leads.schemas import LeadFilter, Tag

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


# ---------------------------------------------------------------------------------------------
# Server-run jobs (the worker: jobs/work.py)

MAX_LEAD_IDS = 10_000
"""How many leads a job may name by id (more: a filter)."""

Column = Annotated[str, StringConstraints(min_length=1, max_length=200)]
FieldKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _importable(key: str) -> str:
    if not importable(key):
        raise ValueError(
            "not an importable field: a key of GET /v1/leads/fields, or customFields.<key>"
        )
    return key


ImportField = Annotated[FieldKey, AfterValidator(_importable)]


class ImportMode(enum.StrEnum):
    CREATE_ONLY = "CREATE_ONLY"
    CREATE_OR_UPDATE = "CREATE_OR_UPDATE"
    UPDATE_ONLY = "UPDATE_ONLY"


class ExportFormat(enum.StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


class ImportInput(ApiIn):
    """IMPORT: the rows of an uploaded file into leads. `mapping` is {column header: lead field
    key} (a key `importable` in GET /v1/leads/fields); unmapped columns are ignored."""

    file_id: UUID
    mapping: dict[Column, ImportField] = Field(min_length=1, max_length=200)
    mode: ImportMode = ImportMode.CREATE_OR_UPDATE
    dry_run: bool = False
    list_id: UUID | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    owner_id: UUID | None = None
    sheet: str | None = Field(default=None, min_length=1, max_length=200)
    country: Country = None


class LeadSelection(ApiIn):
    """Which leads a job acts on: a filter (GET /v1/leads's), a list, or ids; none = every lead
    the job's creator sees."""

    filter: LeadFilter | None = None
    list_id: UUID | None = None
    lead_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_LEAD_IDS)


def _exportable(key: str) -> str:
    if not exportable(key):
        raise ValueError(
            "not an exportable column: a key of GET /v1/leads/fields, or customFields.<key>,"
            " externalIds.<system>, socialProfiles.<network>"
        )
    return key


ExportColumn = Annotated[FieldKey, AfterValidator(_exportable)]


class ExportInput(LeadSelection):
    format: ExportFormat = ExportFormat.CSV
    columns: list[ExportColumn] | None = Field(default=None, min_length=1, max_length=100)


class BulkSelection(LeadSelection):
    """A bulk job's leads: live ones only. A filter over the trash is refused when the job is
    created (422), not left to fail on the worker (bulk/service.py checks a stored job too)."""

    @field_validator("filter")
    @classmethod
    def _live_leads_only(cls, value: LeadFilter | None) -> LeadFilter | None:
        if value is not None and value.deleted:
            raise ValueError("a bulk action changes live leads: restore leads from the trash first")
        return value


class BulkStatusInput(BulkSelection):
    status: LeadStatus


class BulkDeleteInput(BulkSelection):
    pass


SERVER_INPUTS: dict[JobType, type[ApiIn]] = {
    JobType.IMPORT: ImportInput,
    JobType.EXPORT: ExportInput,
    JobType.BULK_STATUS_UPDATE: BulkStatusInput,
    JobType.BULK_DELETE: BulkDeleteInput,
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
