from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from leedz.kit.db import Database, Tx
from leedz.kit.repository import TenantRepository

USER_COLUMNS = "id, email, name, avatar_url, created_at"


class Users:
    """Users are global identities (not tenant-owned): looked up by email at sign-in."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def insert(self, *, email: str, name: str, password_hash: str) -> asyncpg.Record | None:
        """The new user, or None when the email is taken."""
        return await self.tx.raw.fetchrow(
            "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)"
            f" ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}",
            email,
            name,
            password_hash,
        )

    async def by_id(self, user_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
        """The user; with `lock`, the row locked (FOR UPDATE) until the transaction ends, so that
        a password change waits for this transaction, or wins before it reads."""
        return await self.tx.raw.fetchrow(
            f"SELECT {USER_COLUMNS}, password_hash, default_tenant_id FROM users WHERE id = $1"
            + (" FOR UPDATE" if lock else ""),
            user_id,
        )

    async def set_password(self, user_id: UUID, password_hash: str) -> None:
        await self.tx.raw.execute(
            "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
            user_id,
            password_hash,
        )

    async def set_default_tenant(self, user_id: UUID, tenant_id: UUID) -> None:
        await self.tx.raw.execute(
            "UPDATE users SET default_tenant_id = $2, updated_at = now() WHERE id = $1",
            user_id,
            tenant_id,
        )


async def login_lookup(db: Database, email: str) -> asyncpg.Record | None:
    """The id, password hash and last tenant of `email`'s user, read as the request role in a
    statement of its own (migration 20261124_1300), holding no connection afterwards."""
    return await db.fetchrow_as_app(
        "SELECT id, password_hash, default_tenant_id FROM leedz_login_lookup($1, $2)",
        db.app_role,
        email,
    )


async def sign_in(
    db: Database,
    *,
    user_id: UUID,
    tenant_id: UUID,
    verified_hash: str,
    token_id: UUID,
    token_hash: bytes,
    expires_at: datetime,
    ip_address: str | None,
    user_agent: str | None,
    request_id: str | None,
) -> asyncpg.Record | None:
    """The usual sign-in's writes in one statement of its own (migration 20261125_1800): the
    `auth.login` audit row and a new session (refresh-token family `token_id`) in `tenant_id`,
    only while the user still has `verified_hash` and is a member there. Returns the user's and
    the tenant's columns and the session's creation time; None, with nothing written, otherwise."""
    return await db.fetchrow_as_app(
        "SELECT * FROM leedz_sign_in($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        db.app_role,
        user_id,
        tenant_id,
        verified_hash,
        token_id,
        token_hash,
        expires_at,
        ip_address,
        user_agent,
        request_id,
    )


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

    async def by_hash_locked(self, token_hash: bytes) -> asyncpg.Record | None:
        return await self.fetchrow(
            "SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at,"
            " now() AS db_now FROM refresh_tokens"
            " WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE",
            token_hash,
        )

    async def child_of(self, token_id: UUID) -> asyncpg.Record | None:
        return await self.fetchrow(
            "SELECT id, created_at, revoked_at FROM refresh_tokens"
            " WHERE tenant_id = $1 AND parent_id = $2",
            token_id,
        )

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

    async def revoke_user(self, user_id: UUID, reason: str, *, except_family: UUID | None) -> int:
        status = await self.execute(
            "UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $3"
            " WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL"
            " AND family_id IS DISTINCT FROM $4",
            user_id,
            reason,
            except_family,
        )
        return int(status.rsplit(" ", 1)[1])

    async def family_of(self, token_id: UUID) -> UUID | None:
        family: UUID | None = await self.fetchval(
            "SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND id = $2", token_id
        )
        return family
