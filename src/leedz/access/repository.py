"""The request context's SQL: a signed-in user's transaction begins by reading their role."""

from __future__ import annotations

from uuid import UUID

from leedz.kit.db import Connection, Scope, Tx

# The transaction's scope, plus the caller's membership role while their session (refresh-token
# family) is alive, in one round trip (migration 20261124_1300).
BEGIN_AUTHENTICATED_SQL = "SELECT leedz_begin_authenticated($1, $2, $3, $4, $5)"


async def begin_member_session(conn: Connection, scope: Scope, session_id: UUID) -> str | None:
    """Set `scope`; the user's role in the tenant while session `session_id` is alive, else None."""
    role: str | None = await conn.fetchval(
        BEGIN_AUTHENTICATED_SQL,
        scope.role,
        scope.tenant_id,
        scope.user_id,
        scope.statement_timeout,
        str(session_id),
    )
    return role


async def email_verified(tx: Tx, user_id: UUID) -> bool:
    """Whether the user has proven their address (users are global: no tenant filter)."""
    verified: bool | None = await tx.raw.fetchval(
        "SELECT email_verified_at IS NOT NULL FROM users WHERE id = $1", user_id
    )
    return bool(verified)
