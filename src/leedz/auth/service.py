"""Sign-up, sign-in, refresh-token rotation, sign-out, password change, tenant switch.

Refresh tokens rotate on every use. A token used again after its grace window means it leaked:
its whole family is revoked and the event is audited. Inside the grace window (several tabs
refreshing at once) every caller gets the same new pair, recomputed rather than stored.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import structlog

from leedz.audit import service as audit
from leedz.auth.context import Actor, RequestMeta
from leedz.auth.permissions import permissions_of
from leedz.auth.repository import RefreshTokens, Users, login_lookup, sign_in
from leedz.auth.schemas import (
    LoginIn,
    MembershipOut,
    MeOut,
    PasswordChangeIn,
    SignupIn,
    Tokens,
    UserOut,
)
from leedz.errors import LeedzError, NotFound, Unauthorized
from leedz.invites import service as invites
from leedz.kit import opaque
from leedz.kit.db import Database, Tx
from leedz.kit.jwt import ACCESS_TOKEN_TTL, AccessTokens
from leedz.kit.passwords import hash_password, verify_password
from leedz.members.models import Role
from leedz.tenants import service as tenants
from leedz.tenants.repository import Tenants
from leedz.tenants.schemas import TenantCreate, TenantOut, workspace_name

log = structlog.get_logger("leedz.auth")

REFRESH_PREFIX = "lzr"
REFRESH_TOKEN_TTL = timedelta(days=30)


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid email or password"
    keep_changes = True  # the failed attempt is audited


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid_refresh_token", "Invalid refresh token"


class RefreshTokenReused(InvalidRefreshToken):
    keep_changes = True  # the family stays revoked, the audit row stays written


class RefreshTokenExpired(Unauthorized):
    code, title = "token_expired", "Refresh token expired"


class SignupFailed(LeedzError):
    """One answer for every refusal of a well-formed sign-up (a taken email included)."""

    status, code, title = 400, "signup_failed", "Sign-up failed"


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


def _normalise(email: str) -> str:
    return email.strip().lower()


async def _tokens(
    tx: Tx,
    keys: AuthKeys,
    *,
    user: asyncpg.Record,
    refresh: opaque.OpaqueToken,
    token_id: UUID,
    issued_at: datetime,
    tenant: TenantOut | None = None,
) -> Tokens:
    return _pair(
        keys,
        user=UserOut.model_validate(dict(user)),
        tenant=tenant or await tenants.current_tenant(tx),
        refresh=refresh,
        token_id=token_id,
        issued_at=issued_at,
    )


def _pair(
    keys: AuthKeys,
    *,
    user: UserOut,
    tenant: TenantOut,
    refresh: opaque.OpaqueToken,
    token_id: UUID,
    issued_at: datetime,
) -> Tokens:
    """The answer of a sign-in: an access token for the session `token_id`, and its refresh."""
    return Tokens(
        access_token=keys.access.issue(
            user_id=user.id, tenant_id=refresh.tenant_id, token_id=token_id, issued_at=issued_at
        ),
        refresh_token=refresh.value,
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        user=user,
        tenant=tenant,
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


async def _start_session(
    tx: Tx,
    keys: AuthKeys,
    *,
    user: asyncpg.Record,
    tenant_id: UUID,
    meta: RequestMeta,
    tenant: TenantOut | None = None,
) -> Tokens:
    """A new refresh-token family in `tenant_id` (the transaction moves there) and its tokens."""
    await tx.set_context(tenant_id=tenant_id, user_id=user["id"])
    refresh = opaque.new_token(REFRESH_PREFIX, tenant_id)
    token_id = uuid.uuid4()
    created = await _store_refresh(
        tx, token_id, user["id"], family_id=token_id, parent_id=None, token=refresh, meta=meta
    )
    if user.get("default_tenant_id") != tenant_id:
        await Users(tx).set_default_tenant(user["id"], tenant_id)
    return await _tokens(
        tx, keys, user=user, refresh=refresh, token_id=token_id, issued_at=created, tenant=tenant
    )


async def signup(db: Database, keys: AuthKeys, body: SignupIn, meta: RequestMeta) -> Tokens:
    """A new user; a new tenant (OWNER, FREE plan) unless an invite token joins an existing one."""
    # Hash first, outside any transaction: a taken email then costs the same time as a new one,
    # and no pooled connection waits on argon2id.
    password_hash = await hash_password(body.password)
    async with db.transaction() as tx:
        return await _create_account(tx, keys, body, meta, password_hash)


async def _create_account(
    tx: Tx, keys: AuthKeys, body: SignupIn, meta: RequestMeta, password_hash: str
) -> Tokens:
    email = _normalise(str(body.email))
    invite = None
    if body.invite_token is not None:
        invite = await invites.pending_for_signup(tx, token=body.invite_token, email=email)
        if invite is None:
            raise SignupFailed("Sign-up failed: check the details, or sign in instead")
    user = await Users(tx).insert(email=email, name=body.name, password_hash=password_hash)
    if user is None:
        raise SignupFailed("Sign-up failed: check the details, or sign in instead")
    if invite is not None:
        await invites.accept_for_new_user(tx, invite=invite, user_id=user["id"], meta=meta)
        tenant_id = invite.tenant_id
    else:
        tenant = await tenants.create_tenant(
            tx,
            owner_id=user["id"],
            body=TenantCreate(name=body.tenant_name or workspace_name(body.name)),
            meta=meta,
        )
        tenant_id = tenant.id
    await tx.set_context(tenant_id=tenant_id, user_id=user["id"])
    await audit.record(
        tx, "auth.signup", user_id=user["id"], meta=meta, entity_type="user", entity_id=user["id"]
    )
    return await _start_session(tx, keys, user=user, tenant_id=tenant_id, meta=meta)


async def login(db: Database, keys: AuthKeys, body: LoginIn, meta: RequestMeta) -> Tokens:
    """Check the password (upgrading an old hash), then start a session in the last tenant.

    The password is verified between two database steps, holding no connection: a flood of
    sign-ins queues on the hashing threads, not on the pool every other request needs. The second
    step is usually one statement (`_sign_in_directly`); the general path handles the rest.
    """
    email = _normalise(str(body.email))
    found = await login_lookup(db, email)
    matches, needs_rehash = await verify_password(
        found["password_hash"] if found else None, body.password
    )
    if found is None:
        log.info("login_failed", known_user=False)
        raise InvalidCredentials("The email or password is wrong")
    if matches and not needs_rehash and found["default_tenant_id"] is not None:
        tokens = await _sign_in_directly(db, keys, found, meta)
        if tokens is not None:
            return tokens
    # The general path: a failed attempt, a hash to upgrade, another tenant, a fresh workspace.
    async with db.transaction(tenant_id=found["default_tenant_id"], user_id=found["id"]) as tx:
        # Locked: a password change meanwhile either committed first (and the hash below no
        # longer matches) or waits for this transaction, whose session it then revokes.
        user = await Users(tx).by_id(found["id"], lock=True)
        # The hash verified must still be the user's: a password changed meanwhile wins.
        if user is None or not matches or user["password_hash"] != found["password_hash"]:
            await _audit_everywhere(tx, found["id"], "auth.login_failed", meta)
            log.info("login_failed", known_user=True)
            raise InvalidCredentials("The email or password is wrong")
        if needs_rehash:
            await Users(tx).set_password(user["id"], await hash_password(body.password))
        return await _sign_in(tx, keys, user, meta)


async def _sign_in_directly(
    db: Database, keys: AuthKeys, found: asyncpg.Record, meta: RequestMeta
) -> Tokens | None:
    """The usual sign-in, in one statement: the user still has the hash just verified and is
    still a member of their last tenant. None, with nothing written, when either has changed."""
    tenant_id: UUID = found["default_tenant_id"]
    refresh = opaque.new_token(REFRESH_PREFIX, tenant_id)
    token_id = uuid.uuid4()
    row = await sign_in(
        db,
        user_id=found["id"],
        tenant_id=tenant_id,
        verified_hash=found["password_hash"],
        token_id=token_id,
        token_hash=refresh.digest,
        expires_at=datetime.now(UTC) + REFRESH_TOKEN_TTL,
        ip_address=meta.ip,
        user_agent=meta.user_agent,
        request_id=meta.request_id,
    )
    if row is None:
        return None
    return _pair(
        keys,
        user=UserOut(
            id=found["id"],
            email=row["user_email"],
            name=row["user_name"],
            avatar_url=row["user_avatar_url"],
            created_at=row["user_created_at"],
        ),
        tenant=TenantOut(
            id=tenant_id,
            name=row["tenant_name"],
            slug=row["tenant_slug"],
            plan=row["tenant_plan"],
            created_at=row["tenant_created_at"],
        ),
        refresh=refresh,
        token_id=token_id,
        issued_at=row["issued_at"],
    )


async def _sign_in(tx: Tx, keys: AuthKeys, user: asyncpg.Record, meta: RequestMeta) -> Tokens:
    memberships = {m["id"]: m for m in await Tenants(tx).of_user(user["id"])}
    tenant: TenantOut | None = None
    if memberships:
        chosen = memberships.get(user["default_tenant_id"]) or next(iter(memberships.values()))
        tenant = TenantOut.model_validate(dict(chosen))
        tenant_id = tenant.id
    else:
        # Removed from every tenant: a fresh workspace, so that the account stays usable.
        tenant = await tenants.create_tenant(
            tx,
            owner_id=user["id"],
            body=TenantCreate(name=workspace_name(user["name"])),
            meta=meta,
        )
        tenant_id = tenant.id
    await tx.set_context(tenant_id=tenant_id, user_id=user["id"])
    await audit.record(
        tx, "auth.login", user_id=user["id"], meta=meta, entity_type="user", entity_id=user["id"]
    )
    return await _start_session(tx, keys, user=user, tenant_id=tenant_id, meta=meta, tenant=tenant)


async def _audit_everywhere(tx: Tx, user_id: UUID, event: str, meta: RequestMeta) -> None:
    """Record a security event in every tenant the user belongs to."""
    await tx.set_context(tenant_id=None, user_id=user_id)
    for membership in await Tenants(tx).of_user(user_id):
        await tx.set_context(tenant_id=membership["id"], user_id=user_id)
        await audit.record(
            tx, event, user_id=user_id, meta=meta, entity_type="user", entity_id=user_id
        )


async def refresh(tx: Tx, keys: AuthKeys, raw_token: str, meta: RequestMeta) -> Tokens:
    """Rotate a refresh token: a new pair, or the same new pair inside the grace window."""
    parent = opaque.parse_token(REFRESH_PREFIX, raw_token)
    if parent is None:
        raise InvalidRefreshToken("The refresh token is not valid")
    await tx.set_context(tenant_id=parent.tenant_id, user_id=None)
    tokens = RefreshTokens(tx)
    row = await tokens.by_hash_locked(parent.digest)
    if row is None or row["revoked_at"] is not None:
        raise InvalidRefreshToken("The refresh token is not valid")
    if row["expires_at"] <= row["db_now"]:
        raise RefreshTokenExpired("The refresh token has expired; sign in again")
    await tx.set_context(tenant_id=parent.tenant_id, user_id=row["user_id"])
    user = await Users(tx).by_id(row["user_id"])
    role = await tx.raw.fetchval(
        "SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2",
        parent.tenant_id,
        row["user_id"],
    )
    if user is None or role is None:
        await tokens.revoke_family(row["family_id"], "membership_ended")
        raise RefreshTokenReused("The refresh token is not valid")

    child = opaque.derived_token(
        REFRESH_PREFIX, parent.tenant_id, key=keys.rotation_key, parent=raw_token
    )
    if row["rotated_at"] is not None:
        existing = await tokens.child_of(row["id"])
        within_grace = row["db_now"] - row["rotated_at"] <= keys.grace
        if within_grace and existing is not None and existing["revoked_at"] is None:
            return await _tokens(
                tx,
                keys,
                user=user,
                refresh=child,
                token_id=existing["id"],
                issued_at=existing["created_at"],
            )
        revoked = await tokens.revoke_family(row["family_id"], "reuse_detected")
        await audit.record(
            tx,
            "auth.refresh_reuse_detected",
            user_id=row["user_id"],
            meta=meta,
            entity_type="refresh_token_family",
            entity_id=row["family_id"],
            details={"revokedTokens": revoked},
        )
        log.warning("refresh_token_reuse", family_id=str(row["family_id"]))
        raise RefreshTokenReused("The refresh token is not valid")

    await tokens.mark_rotated(row["id"])
    child_id = uuid.uuid4()
    created = await _store_refresh(
        tx,
        child_id,
        row["user_id"],
        family_id=row["family_id"],
        parent_id=row["id"],
        token=child,
        meta=meta,
    )
    return await _tokens(tx, keys, user=user, refresh=child, token_id=child_id, issued_at=created)


async def logout(tx: Tx, raw_token: str, meta: RequestMeta) -> None:
    """End the session (the token's family). Unknown tokens end nothing and say nothing."""
    token = opaque.parse_token(REFRESH_PREFIX, raw_token)
    if token is None:
        return
    await tx.set_context(tenant_id=token.tenant_id, user_id=None)
    tokens = RefreshTokens(tx)
    row = await tokens.by_hash_locked(token.digest)
    if row is None or row["revoked_at"] is not None:
        return
    await tokens.revoke_family(row["family_id"], "logout")
    await audit.record(
        tx,
        "auth.logout",
        user_id=row["user_id"],
        meta=meta,
        entity_type="user",
        entity_id=row["user_id"],
    )


async def me(tx: Tx, actor: Actor) -> MeOut:
    """The caller, their current tenant and role, and every membership they hold."""
    user = await Users(tx).by_id(actor.user_id)
    if user is None:
        raise NotFound("User not found")
    rows = await Tenants(tx).of_user(actor.user_id)
    memberships = [
        MembershipOut(tenant=TenantOut.model_validate(dict(r)), role=Role(r["role"])) for r in rows
    ]
    current = next(m.tenant for m in memberships if m.tenant.id == actor.tenant_id)
    return MeOut(
        user=UserOut.model_validate(dict(user)),
        tenant=current,
        role=actor.role,
        permissions=permissions_of(actor.role),
        memberships=memberships,
    )


async def change_password(tx: Tx, actor: Actor, body: PasswordChangeIn) -> None:
    """Replace the password and end every other session of the user, in every tenant."""
    users = Users(tx)
    user = await users.by_id(actor.user_id)
    matches, _ = await verify_password(
        user["password_hash"] if user else None, body.current_password
    )
    if user is None or not matches:
        await audit.record(
            tx,
            "auth.password_change_failed",
            actor=actor,
            entity_type="user",
            entity_id=actor.user_id,
        )
        raise InvalidCredentials("The current password is wrong")
    await users.set_password(actor.user_id, await hash_password(body.new_password))
    current_family = await RefreshTokens(tx).family_of(actor.token_id)
    for membership in await Tenants(tx).of_user(actor.user_id):
        await tx.set_context(tenant_id=membership["id"], user_id=actor.user_id)
        await RefreshTokens(tx).revoke_user(
            actor.user_id, "password_changed", except_family=current_family
        )
    await tx.set_context(tenant_id=actor.tenant_id, user_id=actor.user_id)
    await audit.record(
        tx, "auth.password_changed", actor=actor, entity_type="user", entity_id=actor.user_id
    )


async def switch_tenant(tx: Tx, keys: AuthKeys, actor: Actor, tenant_id: UUID) -> Tokens:
    """Tokens scoped to another tenant the caller belongs to (404 for any other tenant)."""
    rows = await Tenants(tx).of_user(actor.user_id)
    if tenant_id not in {r["id"] for r in rows}:
        raise NotFound("Tenant not found")
    user = await Users(tx).by_id(actor.user_id)
    if user is None:
        raise NotFound("User not found")
    await tx.set_context(tenant_id=tenant_id, user_id=actor.user_id)
    await audit.record(
        tx,
        "auth.tenant_switched",
        actor=actor,
        entity_type="tenant",
        entity_id=tenant_id,
        details={"from": str(actor.tenant_id)},
    )
    return await _start_session(tx, keys, user=user, tenant_id=tenant_id, meta=actor.meta)
