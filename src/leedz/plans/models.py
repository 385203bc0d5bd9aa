from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, created_at, updated_at, uuid_pk


class Plan(Base):
    """A subscription plan. Quotas are per tenant; NULL means unlimited."""

    __tablename__ = "plans"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(Integer, doc="Monthly price in cents")
    max_users: Mapped[int | None] = mapped_column(Integer)
    max_leads: Mapped[int | None] = mapped_column(Integer)
    max_searches: Mapped[int | None] = mapped_column(Integer, doc="SEARCH jobs per month")
    max_messages: Mapped[int | None] = mapped_column(Integer, doc="WhatsApp messages per month")
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class UsageCounter(Base):
    """What a tenant consumed in one monthly period (the first day of the month)."""

    __tablename__ = "usage_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    searches: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    messages: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    leads: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime] = updated_at()
