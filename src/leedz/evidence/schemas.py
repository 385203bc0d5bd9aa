from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, field_validator

from leedz.evidence.models import Confidence, EvidenceType
from leedz.kit.schemas import ApiIn, ApiModel, HttpUrlText

BATCH_MAX_ITEMS = 100


def _in_utc(value: datetime) -> datetime:
    # An offset that pushes it beyond year 1..9999 cannot be stored (nor converted).
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc


def _non_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class EvidenceIn(ApiIn):
    """One item of an upload, as the agent sends it. The snippet is sanitized by the service."""

    type: EvidenceType
    title: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_non_blank)]
    source: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_non_blank)]
    url: HttpUrlText | None = None
    snippet: str
    confidence: Confidence
    raw_data: dict[str, Any] | None = None
    collected_at: Annotated[AwareDatetime, AfterValidator(_in_utc)]

    @field_validator("title", "source", "snippet", mode="after")
    @classmethod
    def _encodable(cls, value: str) -> str:
        # A lone surrogate (JSON allows the escape \ud800) is no text PostgreSQL can store.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("must be valid Unicode text") from exc
        return value


class EvidenceBatchIn(ApiIn):
    """The body of an upload. Items stay raw: the service validates each one, so that an error
    names the index of the item at fault."""

    lease_id: UUID
    items: list[dict[str, Any]] = Field(min_length=1, max_length=BATCH_MAX_ITEMS)


class LeadAction(enum.StrEnum):
    """What resolution did with an item (docs/resolution.md, "The upload answer")."""

    CREATED = "created"  # a new lead
    JOINED = "joined"  # linked to an existing lead (its fields merged in)
    UNCHANGED = "unchanged"  # already linked to that lead (an item uploaded again)
    OVER_QUOTA = "over_quota"  # would be a new lead, past the plan's maxLeads
    SKIPPED = "skipped"  # no lead: not a business record, nothing to identify it, or no name
    # to create one with, or the business is a lead in the trash


class LeadResolutionOut(ApiModel):
    index: int  # into the upload's items
    lead_id: UUID | None
    action: LeadAction


class EvidenceUploadOut(ApiModel):
    """Ids of the rows stored, the hashes of the items already stored (in input order), and
    what became of each item as a lead."""

    stored: list[UUID]
    duplicates: list[str]
    leads: list[LeadResolutionOut] = Field(default_factory=list)
