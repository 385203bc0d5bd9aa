from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, created_at, updated_at, uuid_pk


class Tenant(Base):
    """A customer organisation: the unit of isolation."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("default_country ~ '^[A-Z]{2}$'", name="default_country_code"),
        CheckConstraint("language IN ('ar', 'en')", name="language_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    # Settings (PATCH /v1/tenants/current). The country a lead's phone is read in when the lead
    # names none (ISO 3166-1 alpha-2, upper case); the zone dates are shown and bucketed in
    # (IANA); whether SALES members see every lead or only their own and unassigned ones; the
    # language of what the server writes for people (exports: `ar` right to left).
    default_country: Mapped[str] = mapped_column(String(2), server_default=text("'SA'"))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'Asia/Riyadh'"))
    sales_see_all_leads: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    language: Mapped[str] = mapped_column(String(2), server_default=text("'ar'"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
