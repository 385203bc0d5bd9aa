"""Leads and lists: placeholders of the seed (their fields arrive in Sprint 2)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from leedz.kit.models import Base, TenantOwned, created_at, updated_at, uuid_pk


class Lead(TenantOwned, Base):
    __tablename__ = "leads"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class LeadList(TenantOwned, Base):
    __tablename__ = "lists"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
