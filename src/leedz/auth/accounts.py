"""Accounts: sign-up, sign-in, the caller's profile, password change, tenant switch.

Composes the features below it (users, tenants, invites, members, audit) and starts sessions
through `auth/sessions.py`; the mailed links (reset, verification) are `auth/recovery.py`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import structlog

from leedz.access.context import Actor, RequestMeta
from leedz.access.permissions import permissions_of
from leedz.audit import service as audit
from leedz.auth import recovery, sessions
from leedz.auth.events import SignInFailed
from leedz.auth.schemas import LoginIn, MembershipOut, MeOut, PasswordChangeIn, SignupIn, Tokens
from leedz.auth.sessions import AuthKeys
from leedz.auth.trail import audit_everywhere
from leedz.errors import LeedzError, NotFound, Unauthorized
from leedz.invites import service as invites
from leedz.kit.db import Database, Tx
from leedz.kit.events import EventBus
from leedz.kit.passwords import hash_password, verify_password
from leedz.tenants import service as tenants
from leedz.tenants.repository import Tenants
from leedz.tenants.schemas import TenantCreate, TenantOut, workspace_name
from leedz.users.repository import UserRow, Users, login_lookup
from leedz.users.schemas import UserOut

log = structlog.get_logger("leedz.auth")


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid email or password"
    keep_changes = True  # the failed attempt is audited


class SignupFailed(LeedzError):
    """One answer for every refusal of a well-formed sign-up (a taken email included)."""

    status, code, title = 400, "signup_failed", "Sign-up failed"


async def signup(
    db: Database, keys: AuthKeys, body: SignupIn, meta: RequestMeta, *, web_url: str
) -> Tokens:
    """A new user; a new tenant (OWNER, FREE plan) unless an invite token joins an existing one.
    The address is verified by the invite, else by the link mailed after commit."""
    # Hash first, outside any transaction: a taken email then costs the same time as a new one,
    # and no pooled connection waits on argon2id.
    password_hash = await hash_password(body.password)
    async with db.transaction() as tx:
        return await _create_account(tx, keys, body, meta, password_hash, web_url=web_url)


async def _create_account(
    tx: Tx, keys: AuthKeys, body: SignupIn, meta: RequestMeta, password_hash: str, *, web_url: str
) -> Tokens:
    email = body.email
    invite = None
    if body.invite_token is not None:
        invite = await invites.pending_for_signup(tx, token=body.invite_token, email=email)
        if invite is None:
            raise SignupFailed("Sign-up failed: check the details, or sign in instead")
    # An invite was mailed to this very address (pending_for_signup compares): that proves it.
    user = await Users(tx).insert(
        email=email,
        name=body.name,
        password_hash=password_hash,
        email_verified=invite is not None,
    )
    if user is None:
        raise SignupFailed("Sign-up failed: check the details, or sign in instead")
    if invite is not None:
        await invites.accept_for_new_user(tx, invite=invite, user_id=user.id, meta=meta)
        tenant_id = invite.tenant_id
    else:
        await recovery.send_verification(tx, user.id, web_url=web_url)
        tenant = await tenants.create_tenant(
            tx,
            owner_id=user.id,
            body=TenantCreate(name=body.tenant_name or workspace_name(body.name)),
            meta=meta,
        )
        tenant_id = tenant.id
    await tx.set_context(tenant_id=tenant_id, user_id=user.id)
    await audit.record(
        tx, "auth.signup", user_id=user.id, meta=meta, entity_type="user", entity_id=user.id
    )
    return await sessions.start(tx, keys, user=user, tenant_id=tenant_id, meta=meta)


async def login(db: Database, keys: AuthKeys, body: LoginIn, meta: RequestMeta) -> Tokens:
    """Check the password (upgrading an old hash), then start a session in the last tenant.

    The password is verified between two database steps, holding no connection: a flood of
    sign-ins queues on the hashing threads, not on the pool every other request needs. A wrong
    password and an unknown email do the same work before answering — one statement, one
    argon2id verification — so the answer's timing does not tell which emails have accounts;
    a known user's failure is audited after the answer (`SignInFailed`).
    """
    found = await login_lookup(db, body.email)
    matches, needs_rehash = await verify_password(
        found.password_hash if found else None, body.password
    )
    if found is None or not matches:
        if found is not None:
            db.bus.publish_detached(SignInFailed(user_id=found.id, meta=meta))
        log.info("login_failed", known_user=found is not None)
        raise InvalidCredentials("The email or password is wrong")
    async with db.transaction(tenant_id=found.default_tenant_id, user_id=found.id) as tx:
        # Locked: a password change meanwhile either committed first (and the hash below no
        # longer matches) or waits for this transaction, whose session it then revokes.
        user = await Users(tx).by_id(found.id, lock=True)
        # The hash verified must still be the user's: a password changed meanwhile wins.
        if user is None or user.password_hash != found.password_hash:
            await audit_everywhere(tx, found.id, "auth.login_failed", meta)
            log.info("login_failed", known_user=True)
            raise InvalidCredentials("The email or password is wrong")
        if needs_rehash:
            await Users(tx).set_password(user.id, await hash_password(body.password))
        return await _sign_in(tx, keys, user, meta)


def subscribe(bus: EventBus, database: Callable[[], Database]) -> None:
    """Audit failed sign-ins of known users in each of their tenants, detached from the answer."""

    async def audit_failure(event: SignInFailed) -> None:
        async with database().transaction(user_id=event.user_id) as tx:
            await audit_everywhere(tx, event.user_id, "auth.login_failed", event.meta)

    bus.subscribe(SignInFailed, audit_failure)


async def _sign_in(tx: Tx, keys: AuthKeys, user: UserRow, meta: RequestMeta) -> Tokens:
    """A session in the user's last tenant, else their first, else a fresh workspace."""
    memberships = {m.id: m for m in await Tenants(tx).of_user(user.id)}
    if memberships:
        chosen = memberships.get(user.default_tenant_id) if user.default_tenant_id else None
        tenant = TenantOut.model_validate(chosen or next(iter(memberships.values())))
    else:
        # Removed from every tenant: a fresh workspace, so that the account stays usable.
        tenant = await tenants.create_tenant(
            tx,
            owner_id=user.id,
            body=TenantCreate(name=workspace_name(user.name)),
            meta=meta,
        )
    await tx.set_context(tenant_id=tenant.id, user_id=user.id)
    await audit.record(
        tx, "auth.login", user_id=user.id, meta=meta, entity_type="user", entity_id=user.id
    )
    return await sessions.start(tx, keys, user=user, tenant_id=tenant.id, meta=meta, tenant=tenant)


async def me(tx: Tx, actor: Actor) -> MeOut:
    """The caller, their current tenant and role, and every membership they hold."""
    user = await Users(tx).by_id(actor.user_id)
    if user is None:
        raise NotFound("User not found")
    rows = await Tenants(tx).of_user(actor.user_id)
    memberships = [MembershipOut(tenant=TenantOut.model_validate(r), role=r.role) for r in rows]
    current = next(m.tenant for m in memberships if m.tenant.id == actor.tenant_id)
    return MeOut(
        user=UserOut.model_validate(user),
        tenant=current,
        role=actor.role,
        permissions=permissions_of(actor.role),
        memberships=memberships,
    )


async def change_password(tx: Tx, actor: Actor, body: PasswordChangeIn) -> None:
    """Replace the password and end every other session of the user, in every tenant."""
    users = Users(tx)
    user = await users.by_id(actor.user_id)
    matches, _ = await verify_password(user.password_hash if user else None, body.current_password)
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
    await sessions.end_other_sessions(
        tx,
        user_id=actor.user_id,
        tenant_ids=[m.id for m in await Tenants(tx).of_user(actor.user_id)],
        keep_session=actor.token_id,
        reason="password_changed",
    )
    await tx.set_context(tenant_id=actor.tenant_id, user_id=actor.user_id)
    await audit.record(
        tx, "auth.password_changed", actor=actor, entity_type="user", entity_id=actor.user_id
    )


async def switch_tenant(tx: Tx, keys: AuthKeys, actor: Actor, tenant_id: UUID) -> Tokens:
    """Tokens scoped to another tenant the caller belongs to (404 for any other tenant)."""
    rows = await Tenants(tx).of_user(actor.user_id)
    if tenant_id not in {r.id for r in rows}:
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
    return await sessions.start(tx, keys, user=user, tenant_id=tenant_id, meta=actor.meta)
