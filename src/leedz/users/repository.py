"""Users (global identities, looked up by email at sign-in), their refresh tokens, and the
tokens of their mailed links (password reset, email verification)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from leedz.kit.db import Database, Tx
from leedz.kit.repository import TenantRepository
from leedz.users.models import AccountTokenPurpose

USER_COLUMNS = (
    "id, email, name, avatar_url, created_at, password_hash, default_tenant_id, email_verified_at"
)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: UUID
    email: str
    name: str
    avatar_url: str | None
    created_at: datetime
    password_hash: str
    default_tenant_id: UUID | None
    email_verified_at: datetime | None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a sign-in reads before verifying the password."""

    id: UUID
    password_hash: str
    default_tenant_id: UUID | None


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    id: UUID
    user_id: UUID
    family_id: UUID
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    db_now: datetime  # the database's clock, for expiry and the grace window


@dataclass(frozen=True, slots=True)
class ChildTokenRow:
    id: UUID
    created_at: datetime
    revoked_at: datetime | None


class Users:
    """Users are global identities (not tenant-owned): looked up by email at sign-in."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def insert(
        self, *, email: str, name: str, password_hash: str, email_verified: bool = False
    ) -> UserRow | None:
        """The new user, or None when the email is taken; `email_verified`: the address is
        already proven (sign-up through an invite mailed to it)."""
        row = await self.tx.raw.fetchrow(
            "INSERT INTO users (email, name, password_hash, email_verified_at)"
            " VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN now() END)"
            f" ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}",
            email,
            name,
            password_hash,
            email_verified,
        )
        return UserRow(**row) if row is not None else None

    async def by_id(self, user_id: UUID, *, lock: bool = False) -> UserRow | None:
        """The user; with `lock`, the row locked (FOR UPDATE) until the transaction ends, so that
        a password change waits for this transaction, or wins before it reads."""
        row = await self.tx.raw.fetchrow(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = $1" + (" FOR UPDATE" if lock else ""),
            user_id,
        )
        return UserRow(**row) if row is not None else None

    async def lock(self, user_id: UUID) -> None:
        """Hold the user's row until the transaction ends: per-user checks (how many workspaces
        they own) then run one at a time."""
        await self.tx.raw.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)

    async def email_of(self, user_id: UUID) -> str | None:
        email: str | None = await self.tx.raw.fetchval(
            "SELECT email FROM users WHERE id = $1", user_id
        )
        return email

    async def set_password(self, user_id: UUID, password_hash: str) -> None:
        await self.tx.raw.execute(
            "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
            user_id,
            password_hash,
        )

    async def mark_email_verified(self, user_id: UUID) -> bool:
        """Record that the user receives mail at their address; False if it already was."""
        status = await self.tx.raw.execute(
            "UPDATE users SET email_verified_at = now(), updated_at = now()"
            " WHERE id = $1 AND email_verified_at IS NULL",
            user_id,
        )
        return status == "UPDATE 1"

    async def set_default_tenant(self, user_id: UUID, tenant_id: UUID) -> None:
        await self.tx.raw.execute(
            "UPDATE users SET default_tenant_id = $2, updated_at = now() WHERE id = $1",
            user_id,
            tenant_id,
        )


async def login_lookup(db: Database, email: str) -> Credentials | None:
    """The id, password hash and last tenant of `email`'s user, read as the request role in a
    statement of its own (migration 20261124_1300), holding no connection afterwards."""
    row = await db.fetchrow_as_app(
        "SELECT id, password_hash, default_tenant_id FROM leedz_login_lookup($1, $2)",
        db.app_role,
        email,
    )
    return Credentials(**row) if row is not None else None


class RefreshTokens(TenantRepository):
    async def insert(
        self,
        *,
        token_id: UUID,
        user_id: UUID,
        family_id: UUID,
        parent_id: UUID | None,
        token_hash: bytes,
        expires_at: datetime,
        ip_address: str | None,
        user_agent: str | None,
    ) -> datetime:
        """Store a token; returns its creation time (the access token's `iat`)."""
        created: datetime = await self.fetchval(
            "INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, parent_id,"
            " token_hash, expires_at, ip_address, user_agent)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING created_at",
            token_id,
            user_id,
            family_id,
            parent_id,
            token_hash,
            expires_at,
            ip_address,
            user_agent,
        )
        return created

    async def by_hash_locked(self, token_hash: bytes) -> RefreshTokenRow | None:
        row = await self.fetchrow(
            "SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at,"
            " now() AS db_now FROM refresh_tokens"
            " WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE",
            token_hash,
        )
        return RefreshTokenRow(**row) if row is not None else None

    async def child_of(self, token_id: UUID) -> ChildTokenRow | None:
        row = await self.fetchrow(
            "SELECT id, created_at, revoked_at FROM refresh_tokens"
            " WHERE tenant_id = $1 AND parent_id = $2",
            token_id,
        )
        return ChildTokenRow(**row) if row is not None else None

    async def mark_rotated(self, token_id: UUID) -> None:
        await self.execute(
            "UPDATE refresh_tokens SET rotated_at = now() WHERE tenant_id = $1 AND id = $2",
            token_id,
        )

    async def revoke_family(self, family_id: UUID, reason: str) -> int:
        status = await self.execute(
            "UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $3"
            " WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
            family_id,
            reason,
        )
        return int(status.rsplit(" ", 1)[1])

    async def revoke_user(
        self, user_id: UUID, reason: str, *, except_family: UUID | None
    ) -> list[UUID]:
        """Revoke the user's live tokens in this tenant, but those of `except_family`; the
        families (sessions) that had any."""
        rows = await self.fetch(
            "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $3"
            " WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL"
            " AND family_id IS DISTINCT FROM $4 RETURNING family_id)"
            " SELECT DISTINCT family_id FROM revoked",
            user_id,
            reason,
            except_family,
        )
        return [row["family_id"] for row in rows]

    async def family_of(self, token_id: UUID) -> UUID | None:
        family: UUID | None = await self.fetchval(
            "SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND id = $2", token_id
        )
        return family


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The user a new account token was issued to, and when it expires."""

    user_id: UUID
    email: str
    expires_at: datetime


# One statement issues a token, whoever asks: the user's row (by email or id), then the token
# upserted on (user_id, purpose) — the previous token of that purpose is overwritten, so its
# link dies. For an unknown email the same statement runs and writes nothing.
_ISSUE = """
WITH target AS (SELECT id, email FROM users WHERE {match}),
issued AS (
    INSERT INTO account_tokens (user_id, purpose, token_hash, expires_at)
    SELECT id, $2::account_token_purpose, $3, now() + $4::interval FROM target
    ON CONFLICT (user_id, purpose) DO UPDATE SET token_hash = EXCLUDED.token_hash,
        expires_at = EXCLUDED.expires_at, used_at = NULL, created_at = now()
    RETURNING user_id, expires_at
)
SELECT t.id AS user_id, t.email, i.expires_at FROM target t JOIN issued i ON i.user_id = t.id
"""
_ISSUE_FOR_EMAIL = _ISSUE.format(match="email = $1")
_ISSUE_FOR_USER = _ISSUE.format(match="id = $1")


class AccountTokens:
    """Tokens of mailed links (password reset, email verification), global like users: only
    their SHA-256 is stored, one per user and purpose, spent once."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def issue_for_email(
        self, email: str, purpose: AccountTokenPurpose, token_hash: bytes, ttl: timedelta
    ) -> IssuedToken | None:
        """Store `token_hash` as the user's token for `purpose` (replacing the previous one);
        None, having written nothing, when no user has `email`."""
        row = await self.tx.raw.fetchrow(_ISSUE_FOR_EMAIL, email, purpose.value, token_hash, ttl)
        return IssuedToken(**row) if row is not None else None

    async def issue_for_user(
        self, user_id: UUID, purpose: AccountTokenPurpose, token_hash: bytes, ttl: timedelta
    ) -> IssuedToken | None:
        row = await self.tx.raw.fetchrow(_ISSUE_FOR_USER, user_id, purpose.value, token_hash, ttl)
        return IssuedToken(**row) if row is not None else None

    async def spend(self, token_hash: bytes, purpose: AccountTokenPurpose) -> UUID | None:
        """Mark the token used and return its user, if it exists for `purpose`, is unused and
        unexpired; else None. The row lock makes it single-use under concurrent spends."""
        user_id: UUID | None = await self.tx.raw.fetchval(
            "UPDATE account_tokens SET used_at = now()"
            " WHERE token_hash = $1 AND purpose = $2::account_token_purpose"
            " AND used_at IS NULL AND expires_at > now() RETURNING user_id",
            token_hash,
            purpose.value,
        )
        return user_id
