"""Resolution's own table: where a tenant's backfill (`leedz leads resolve`) has got to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, created_at, updated_at


class ResolutionBackfill(Base):
    """One row per tenant: the last evidence item the backfill resolved, in its order
    `(created_at, collected_at, id)`, written in the same transaction as that item's batch; and
    what the backfill did so far. A run goes on after it (docs/resolution.md, Backfill)."""

    __tablename__ = "resolution_backfills"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    after_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    after_collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    after_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True))
    resolved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    joined: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    over_quota: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    started_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
