from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from leedz.access.roles import Role
from leedz.kit.models import Base, TenantOwned, created_at, updated_at, uuid_pk
from leedz.members.models import role_enum


class InviteStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"  # addition to the seed: an inviter withdrew it


invite_status_enum = Enum(
    InviteStatus, name="invite_status", values_callable=lambda e: [m.value for m in e]
)


class Invite(TenantOwned, Base):
    """An invitation to join a tenant. Only the SHA-256 of its token is stored."""

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        Index(None, "tenant_id", "status"),
        # At most one pending invite per tenant and email: a new one replaces the old.
        Index(
            "uq_invites_pending_email",
            "tenant_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(role_enum, server_default=Role.SALES.value)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    status: Mapped[InviteStatus] = mapped_column(
        invite_status_enum, server_default=InviteStatus.PENDING.value
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    inviter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
