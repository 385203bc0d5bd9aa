from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from leedz.kit.models import Base, TenantOwned, created_at, updated_at, uuid_pk


class User(Base):
    """A person. Global (not tenant-owned): one login, memberships in several tenants."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower_case"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    default_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL")
    )
    # When the user proved they receive mail at `email` (a verification link, a reset link, an
    # invite); NULL: not yet.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class AccountTokenPurpose(enum.StrEnum):
    RESET_PASSWORD = "RESET_PASSWORD"  # noqa: S105 - a purpose, no secret
    VERIFY_EMAIL = "VERIFY_EMAIL"


account_token_purpose_enum = Enum(
    AccountTokenPurpose,
    name="account_token_purpose",
    values_callable=lambda e: [m.value for m in e],
)


class AccountToken(Base):
    """A mailed single-use link's token (password reset, email verification), stored as its
    SHA-256. Global like `users`: a reset starts before any tenant is known.

    One row per user and purpose: asking again replaces the token (the previous link dies).
    """

    __tablename__ = "account_tokens"
    __table_args__ = (UniqueConstraint("user_id", "purpose"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[AccountTokenPurpose] = mapped_column(account_token_purpose_enum)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the current token was issued (a replacement moves it).
    created_at: Mapped[datetime] = created_at()


class RefreshToken(TenantOwned, Base):
    """One opaque refresh token (stored as its SHA-256), a link in a rotation family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        # A token's parent is in the same tenant; deleting a token takes its descendants.
        ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["refresh_tokens.tenant_id", "refresh_tokens.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "family_id"),
        Index(None, "user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(50))
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = created_at()
