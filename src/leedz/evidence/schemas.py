from __future__ import annotations

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


class EvidenceUploadOut(ApiModel):
    """Ids of the rows stored, and the hashes of the items already stored (in input order)."""

    stored: list[UUID]
    duplicates: list[str]
