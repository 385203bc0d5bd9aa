"""The request context's SQL: a signed-in user's transaction begins by reading their role."""

from __future__ import annotations

from uuid import UUID

from leedz.access.roles import Role
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


async def role_in_tenant(tx: Tx, user_id: UUID, *, for_update: bool = False) -> Role | None:
    """`user_id`'s role in the transaction's tenant; None for someone who is not a member.
    (`for_update` locks the membership row until the end of the transaction.)"""
    role = await tx.raw.fetchval(
        "SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2"
        + (" FOR UPDATE" if for_update else ""),
        tx.current_tenant,
        user_id,
    )
    return Role(role) if role else None
