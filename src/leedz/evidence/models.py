from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKeyConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, TenantOwned, created_at, time_ordered_pk


class EvidenceType(enum.StrEnum):
    GOOGLE_MAPS_LISTING = "GOOGLE_MAPS_LISTING"
    WEBSITE_CONTENT = "WEBSITE_CONTENT"
    SOCIAL_PROFILE = "SOCIAL_PROFILE"
    SEARCH_RESULT = "SEARCH_RESULT"
    CONTACT_INFO = "CONTACT_INFO"
    REVIEW = "REVIEW"
    NEWS_ARTICLE = "NEWS_ARTICLE"


class Confidence(enum.StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


evidence_type_enum = Enum(
    EvidenceType, name="evidence_type", values_callable=lambda e: [m.value for m in e]
)
confidence_enum = Enum(
    Confidence, name="confidence", values_callable=lambda e: [m.value for m in e]
)


class Evidence(TenantOwned, Base):
    """What an agent saw while running a job. `hash` (SHA-256, hex) makes uploads idempotent."""

    __tablename__ = "evidence"
    __table_args__ = (
        # Evidence points at a job of its own tenant, never across.
        ForeignKeyConstraint(
            ["tenant_id", "job_id"], ["jobs.tenant_id", "jobs.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "job_id", "hash"),
        # Provenance (lead_evidence) points at evidence of its own tenant.
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[uuid.UUID] = time_ordered_pk()
    job_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True))
    type: Mapped[EvidenceType] = mapped_column(evidence_type_enum)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(100), doc="Connector name")
    url: Mapped[str | None] = mapped_column(String(2048))
    snippet: Mapped[str] = mapped_column(Text, doc="Sanitized, at most 10 KB")
    confidence: Mapped[Confidence] = mapped_column(confidence_enum)
    raw_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB, doc="At most 50 KB")
    hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
