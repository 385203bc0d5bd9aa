"""Merges, undo, duplicate suggestions and provenance on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field, field_validator

from leedz.evidence.models import Confidence, EvidenceType
from leedz.kit.schemas import ApiIn, ApiModel
from leedz.leads.schemas import LeadOut
from leedz.merges.duplicates import ReasonType

MAX_MERGED = 20


class MergeIn(ApiIn):
    """The leads to fold into the lead of the path (1 to 20, distinct, not that lead)."""

    lead_ids: list[UUID] = Field(min_length=1, max_length=MAX_MERGED)

    @field_validator("lead_ids", mode="after")
    @classmethod
    def _distinct(cls, ids: list[UUID]) -> list[UUID]:
        if len(set(ids)) != len(ids):
            raise ValueError("each lead may be named once")
        return ids


class MergeOut(ApiModel):
    lead: LeadOut
    merge_id: UUID


class UndoOut(ApiModel):
    """The merged leads, back as they were before the merge."""

    leads: list[LeadOut]


class DuplicateReason(ApiModel):
    """Why a lead may be the same business: the domain or e-mail domain in common (`value`),
    the same name, or a similar one (`similarity`, 0..1)."""

    type: ReasonType
    value: str | None = None
    similarity: float | None = None


class DuplicateOut(ApiModel):
    lead: LeadOut
    score: float = Field(ge=0, le=1)
    reasons: list[DuplicateReason]


class DuplicatesOut(ApiModel):
    items: list[DuplicateOut]


class LeadEvidenceOut(ApiModel):
    """An evidence item that fed the lead, and the lead fields it supplied."""

    id: UUID
    job_id: UUID
    type: EvidenceType
    title: str
    source: str
    url: str | None
    snippet: str
    confidence: Confidence
    raw_data: dict[str, Any] | None
    collected_at: datetime
    fields: list[str]
    linked_at: datetime
