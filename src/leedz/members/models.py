from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leedz.access.roles import Role
from leedz.kit.models import Base, TenantOwned, created_at, updated_at, uuid_pk

role_enum = Enum(Role, name="role", values_callable=lambda e: [m.value for m in e])


class Membership(TenantOwned, Base):
    """A user's role in a tenant."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "tenant_id"),
        Index(None, "tenant_id", "role"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(role_enum, server_default=Role.SALES.value)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
