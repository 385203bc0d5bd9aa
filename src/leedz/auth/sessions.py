"""Sessions: a refresh-token family per sign-in, its rotation, its end; the token pair.

Refresh tokens rotate on every use. A token used again after its grace window means it leaked:
its whole family is revoked and the event is audited. Inside the grace window (several tabs
refreshing at once) every caller gets the same new pair, recomputed rather than stored.

Every revocation made here — sign-out, a leak, a membership found ended, the other sessions of a
password change, all of them for a password reset — goes through `_revoke_family` or
`end_other_sessions`, which publish `SessionsEnded`: after commit, the sessions' `/app` sockets
close on every instance. Their access tokens already fail at once (the first statement of every
request checks the session, access/context.py).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog

from leedz.access.context import RequestMeta
from leedz.audit import service as audit
from leedz.auth.events import SessionsEnded
from leedz.auth.schemas import Tokens
from leedz.errors import Unauthorized
from leedz.kit import opaque
from leedz.kit.db import Tx
from leedz.kit.jwt import ACCESS_TOKEN_TTL, AccessTokens
from leedz.members.repository import Memberships
from leedz.tenants import service as tenants
from leedz.tenants.repository import Tenants
from leedz.tenants.schemas import TenantOut
from leedz.users.repository import RefreshTokenRow, RefreshTokens, UserRow, Users
from leedz.users.schemas import UserOut

log = structlog.get_logger("leedz.auth")

REFRESH_PREFIX = "lzr"
REFRESH_TOKEN_TTL = timedelta(days=30)


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid_refresh_token", "Invalid refresh token"


class RefreshTokenReused(InvalidRefreshToken):
    keep_changes = True  # the family stays revoked, the audit row stays written


class RefreshTokenExpired(Unauthorized):
    code, title = "token_expired", "Refresh token expired"


@dataclass(frozen=True)
class AuthKeys:
    access: AccessTokens
    # Derives the child refresh token from its parent (see kit/opaque.derived_token).
    rotation_key: bytes
    grace: timedelta

    @classmethod
    def from_secrets(cls, secret: str, previous: str | None, *, grace_seconds: float) -> AuthKeys:
        return cls(
            access=AccessTokens(secret, previous),
            rotation_key=hashlib.sha256(b"leedz-refresh-rotation:" + secret.encode()).digest(),
            grace=timedelta(seconds=grace_seconds),
        )


async def _pair(
    tx: Tx,
    keys: AuthKeys,
    *,
    user: UserRow,
    refresh: opaque.OpaqueToken,
    token_id: UUID,
    issued_at: datetime,
    tenant: TenantOut | None = None,
) -> Tokens:
    """The answer of a sign-in: an access token for the session `token_id`, and its refresh."""
    return Tokens(
        access_token=keys.access.issue(
            user_id=user.id, tenant_id=refresh.tenant_id, token_id=token_id, issued_at=issued_at
        ),
        refresh_token=refresh.value,
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        user=UserOut.model_validate(user),
        tenant=tenant or await tenants.current_tenant(tx),
    )


async def _store_refresh(
    tx: Tx,
    token_id: UUID,
    user_id: UUID,
    *,
    family_id: UUID,
    parent_id: UUID | None,
    token: opaque.OpaqueToken,
    meta: RequestMeta,
) -> datetime:
    """Store one refresh token (its hash) of a family; returns its creation time."""
    return await RefreshTokens(tx).insert(
        token_id=token_id,
        user_id=user_id,
        family_id=family_id,
        parent_id=parent_id,
        token_hash=token.digest,
        expires_at=datetime.now(UTC) + REFRESH_TOKEN_TTL,
        ip_address=meta.ip,
        user_agent=meta.user_agent,
    )


async def start(
    tx: Tx,
    keys: AuthKeys,
    *,
    user: UserRow,
    tenant_id: UUID,
    meta: RequestMeta,
    tenant: TenantOut | None = None,
) -> Tokens:
    """A new session (refresh-token family) in `tenant_id` (the transaction moves there) and its
    tokens; the tenant becomes the user's last one."""
    await tx.set_context(tenant_id=tenant_id, user_id=user.id)
    refresh = opaque.new_token(REFRESH_PREFIX, tenant_id)
    token_id = uuid.uuid4()
    created = await _store_refresh(
        tx, token_id, user.id, family_id=token_id, parent_id=None, token=refresh, meta=meta
    )
    if user.default_tenant_id != tenant_id:
        await Users(tx).set_default_tenant(user.id, tenant_id)
    return await _pair(
        tx, keys, user=user, refresh=refresh, token_id=token_id, issued_at=created, tenant=tenant
    )


async def refresh(tx: Tx, keys: AuthKeys, raw_token: str, meta: RequestMeta) -> Tokens:
    """Rotate a refresh token: a new pair, or the same new pair inside the grace window."""
    parent = opaque.parse_token(REFRESH_PREFIX, raw_token)
    if parent is None:
        raise InvalidRefreshToken("The refresh token is not valid")
    await tx.set_context(tenant_id=parent.tenant_id, user_id=None)
    tokens = RefreshTokens(tx)
    row = await tokens.by_hash_locked(parent.digest)
    if row is None or row.revoked_at is not None:
        raise InvalidRefreshToken("The refresh token is not valid")
    if row.expires_at <= row.db_now:
        raise RefreshTokenExpired("The refresh token has expired; sign in again")
    await tx.set_context(tenant_id=parent.tenant_id, user_id=row.user_id)
    user = await Users(tx).by_id(row.user_id)
    if user is None or await Memberships(tx).role_of(row.user_id) is None:
        await _revoke_family(tx, row, "membership_ended")
        raise RefreshTokenReused("The refresh token is not valid")

    child = opaque.derived_token(
        REFRESH_PREFIX, parent.tenant_id, key=keys.rotation_key, parent=raw_token
    )
    if row.rotated_at is not None:
        return await _rotated_again(
            tx, keys, row, rotated_at=row.rotated_at, user=user, child=child, meta=meta
        )
    await tokens.mark_rotated(row.id)
    child_id = uuid.uuid4()
    created = await _store_refresh(
        tx,
        child_id,
        row.user_id,
        family_id=row.family_id,
        parent_id=row.id,
        token=child,
        meta=meta,
    )
    return await _pair(tx, keys, user=user, refresh=child, token_id=child_id, issued_at=created)


async def _rotated_again(
    tx: Tx,
    keys: AuthKeys,
    row: RefreshTokenRow,
    *,
    rotated_at: datetime,
    user: UserRow,
    child: opaque.OpaqueToken,
    meta: RequestMeta,
) -> Tokens:
    """A token already rotated: the same child inside the grace window, else a leak."""
    tokens = RefreshTokens(tx)
    existing = await tokens.child_of(row.id)
    within_grace = row.db_now - rotated_at <= keys.grace
    if within_grace and existing is not None and existing.revoked_at is None:
        return await _pair(
            tx,
            keys,
            user=user,
            refresh=child,
            token_id=existing.id,
            issued_at=existing.created_at,
        )
    revoked = await _revoke_family(tx, row, "reuse_detected")
    await audit.record(
        tx,
        "auth.refresh_reuse_detected",
        user_id=row.user_id,
        meta=meta,
        entity_type="refresh_token_family",
        entity_id=row.family_id,
        details={"revokedTokens": revoked},
    )
    log.warning("refresh_token_reuse", family_id=str(row.family_id))
    raise RefreshTokenReused("The refresh token is not valid")


async def logout(tx: Tx, raw_token: str, meta: RequestMeta) -> None:
    """End the session (the token's family). Unknown tokens end nothing and say nothing."""
    token = opaque.parse_token(REFRESH_PREFIX, raw_token)
    if token is None:
        return
    await tx.set_context(tenant_id=token.tenant_id, user_id=None)
    row = await RefreshTokens(tx).by_hash_locked(token.digest)
    if row is None or row.revoked_at is not None:
        return
    await _revoke_family(tx, row, "logout")
    await audit.record(
        tx,
        "auth.logout",
        user_id=row.user_id,
        meta=meta,
        entity_type="user",
        entity_id=row.user_id,
    )


async def end_other_sessions(
    tx: Tx, *, user_id: UUID, tenant_ids: list[UUID], keep_session: UUID | None, reason: str
) -> None:
    """Revoke every session of the user in `tenant_ids` but the family of `keep_session`; the
    transaction moves through those tenants (the caller moves it back)."""
    keep_family = await RefreshTokens(tx).family_of(keep_session) if keep_session else None
    for tenant_id in tenant_ids:
        await tx.set_context(tenant_id=tenant_id, user_id=user_id)
        ended = await RefreshTokens(tx).revoke_user(user_id, reason, except_family=keep_family)
        _announce(tx, user_id, ended, reason)


async def session_of(tx: Tx, token_id: UUID) -> UUID | None:
    """The session (refresh-token family) of the access tokens issued with the refresh token
    `token_id` (their `jti`), in the transaction's tenant."""
    return await RefreshTokens(tx).family_of(token_id)


async def _revoke_family(tx: Tx, row: RefreshTokenRow, reason: str) -> int:
    """End the session `row` belongs to; how many of its tokens were still live."""
    revoked = await RefreshTokens(tx).revoke_family(row.family_id, reason)
    if revoked:
        _announce(tx, row.user_id, [row.family_id], reason)
    return revoked


def _announce(tx: Tx, user_id: UUID, family_ids: list[UUID], reason: str) -> None:
    if family_ids:
        tx.publish(
            SessionsEnded(
                tenant_id=tx.current_tenant,
                user_id=user_id,
                family_ids=tuple(family_ids),
                reason=reason,
            )
        )


async def end_all_sessions(tx: Tx, *, user_id: UUID, reason: str) -> None:
    """Revoke every session of the user in every tenant they belong to (a password reset); the
    transaction moves through those tenants (the caller moves it back)."""
    await tx.set_context(tenant_id=None, user_id=user_id)
    tenant_ids = [m.id for m in await Tenants(tx).of_user(user_id)]
    await end_other_sessions(
        tx, user_id=user_id, tenant_ids=tenant_ids, keep_session=None, reason=reason
    )
