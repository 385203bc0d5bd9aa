"""Invites: created by a member, mailed as a link, accepted once by the person it names.

The raw token exists only in the accept link (shown once to the inviter and mailed); the database
keeps its SHA-256. Unknown, expired, revoked, replaced and used tokens all answer the same 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from leedz.access.context import Actor, RequestMeta
from leedz.access.permissions import outranks_or_equals
from leedz.access.roles import Role
from leedz.audit import service as audit
from leedz.errors import Conflict, Forbidden, NotFound
from leedz.invites.events import InviteCreated
from leedz.invites.models import InviteStatus
from leedz.invites.repository import InviteRow, Invites, tenant_and_inviter_names
from leedz.invites.schemas import (
    InviteCreate,
    InviteLookup,
    InviteOut,
    InviteWithLink,
    MembershipOut,
)
from leedz.kit import opaque
from leedz.kit.db import Tx
from leedz.kit.schemas import normalize_email
from leedz.members.repository import Memberships
from leedz.plans import service as plans
from leedz.tenants import service as tenants
from leedz.users.repository import Users

INVITE_PREFIX = "lzi"
INVITE_TTL = timedelta(days=7)


class InviteNotFound(NotFound):
    code, title = "invite_not_found", "Invite not found"


class AlreadyMember(Conflict):
    code, title = "already_member", "Already a member"


@dataclass(frozen=True)
class PendingInvite:
    id: UUID
    tenant_id: UUID
    role: Role


def _ensure_rank(actor: Actor, role: Role) -> None:
    """Nobody acts on an invite (or grants a role) above their own role."""
    if not outranks_or_equals(actor.role, role):
        raise Forbidden(
            f"A {actor.role.value} cannot act on a {role.value} invite", permission="role:grant"
        )


def _accept_url(web_url: str, token: str) -> str:
    return f"{web_url.rstrip('/')}/invite/{token}"


async def _names(tx: Tx, inviter_id: UUID) -> tuple[str, str]:
    names = await tenant_and_inviter_names(tx, inviter_id)
    if names is None:
        raise InviteNotFound("The invite is not valid")
    return names


async def _issue_link(
    tx: Tx, row: InviteRow, token: opaque.OpaqueToken, *, web_url: str
) -> InviteWithLink:
    tenant_name, inviter_name = await _names(tx, row.inviter_id)
    url = _accept_url(web_url, token.value)
    tx.publish(
        InviteCreated(
            tenant_name=tenant_name,
            inviter_name=inviter_name,
            email=row.email,
            role=row.role,
            accept_url=url,
            expires_at=row.expires_at,
        )
    )
    return InviteWithLink(invite=InviteOut.model_validate(row), accept_url=url)


async def create(tx: Tx, actor: Actor, body: InviteCreate, *, web_url: str) -> InviteWithLink:
    """Invite `email` with `role` (never above the inviter's); a pending invite is replaced."""
    _ensure_rank(actor, body.role)
    email = body.email
    await tenants.lock_current(tx)
    if await Memberships(tx).has_email(email):
        raise AlreadyMember(f"{email} is already a member of this tenant")
    invites = Invites(tx)
    previous = await invites.pending_by_email_locked(email)
    if previous is not None:
        _ensure_rank(actor, previous.role)
        await invites.set_status(previous.id, "REVOKED")
        await audit.record(
            tx, "invite.replaced", actor=actor, entity_type="invite", entity_id=previous.id
        )
    await plans.ensure_seats(tx, adding=1, counting_pending_invites=True)
    token = opaque.new_token(INVITE_PREFIX, actor.tenant_id)
    row = await invites.insert(
        email=email,
        role=body.role,
        token_hash=token.digest,
        expires_at=datetime.now(UTC) + INVITE_TTL,
        inviter_id=actor.user_id,
    )
    await audit.record(
        tx,
        "invite.created",
        actor=actor,
        entity_type="invite",
        entity_id=row.id,
        details={"email": email, "role": body.role.value},
    )
    return await _issue_link(tx, row, token, web_url=web_url)


async def pending(tx: Tx) -> list[InviteOut]:
    """Pending, unexpired invites of the tenant (never a token)."""
    return [InviteOut.model_validate(r) for r in await Invites(tx).pending()]


async def _pending_by_id(invites: Invites, invite_id: UUID) -> InviteRow:
    row = await invites.by_id_locked(invite_id)
    if row is None or row.status is not InviteStatus.PENDING:
        raise InviteNotFound("No pending invite with this id")
    return row


async def revoke(tx: Tx, actor: Actor, invite_id: UUID) -> None:
    """Withdraw a pending invite: its link stops working."""
    invites = Invites(tx)
    row = await _pending_by_id(invites, invite_id)
    _ensure_rank(actor, row.role)
    await invites.set_status(invite_id, "REVOKED")
    await audit.record(tx, "invite.revoked", actor=actor, entity_type="invite", entity_id=invite_id)


async def resend(tx: Tx, actor: Actor, invite_id: UUID, *, web_url: str) -> InviteWithLink:
    """A new token and expiry for a pending invite, mailed again; the old link dies."""
    invites = Invites(tx)
    row = await _pending_by_id(invites, invite_id)
    _ensure_rank(actor, row.role)
    token = opaque.new_token(INVITE_PREFIX, actor.tenant_id)
    row = await invites.replace_token(invite_id, token.digest, datetime.now(UTC) + INVITE_TTL)
    await audit.record(tx, "invite.resent", actor=actor, entity_type="invite", entity_id=invite_id)
    return await _issue_link(tx, row, token, web_url=web_url)


async def _usable(tx: Tx, raw_token: str) -> InviteRow:
    """The pending invite of `raw_token`, with the transaction moved into its tenant."""
    token = opaque.parse_token(INVITE_PREFIX, raw_token)
    if token is None:
        raise InviteNotFound("The invite is not valid")
    await tx.set_context(tenant_id=token.tenant_id, user_id=tx.user_id)
    row = await Invites(tx).usable_by_hash_locked(token.digest)
    if row is None:
        raise InviteNotFound("The invite is not valid")
    return row


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"


async def lookup(tx: Tx, raw_token: str) -> InviteLookup:
    """What an invite link offers, for the accept page (no sign-in needed)."""
    row = await _usable(tx, raw_token)
    tenant_name, inviter_name = await _names(tx, row.inviter_id)
    return InviteLookup(
        tenant_name=tenant_name,
        inviter_name=inviter_name,
        email=_mask(row.email),
        role=row.role,
        expires_at=row.expires_at,
    )


async def _join(tx: Tx, row: InviteRow, user_id: UUID, meta: RequestMeta) -> None:
    await tenants.lock_current(tx)
    members = Memberships(tx)
    if await members.role_of(user_id) is not None:
        raise AlreadyMember("You are already a member of this tenant")
    await plans.ensure_seats(tx, adding=1, counting_pending_invites=False)
    await members.add(user_id, row.role)
    await Invites(tx).set_status(row.id, "ACCEPTED")
    await audit.record(
        tx,
        "invite.accepted",
        user_id=user_id,
        meta=meta,
        entity_type="invite",
        entity_id=row.id,
        details={"role": row.role.value},
    )


async def accept(tx: Tx, actor: Actor, raw_token: str) -> MembershipOut:
    """Join the invite's tenant, if the signed-in user's email is the one invited."""
    email = await Users(tx).email_of(actor.user_id)
    row = await _usable(tx, raw_token)
    if email is None or row.email != normalize_email(email):
        # Same answer as an unknown token: the link does not reveal whom it was meant for.
        raise InviteNotFound("The invite is not valid")
    # The link was mailed to this address: following it proves the address (rolled back with
    # the rest if joining fails).
    await Users(tx).mark_email_verified(actor.user_id)
    await _join(tx, row, actor.user_id, actor.meta)
    return MembershipOut(tenant=await tenants.current_tenant(tx), role=row.role)


async def reject(tx: Tx, raw_token: str, meta: RequestMeta) -> None:
    """Decline an invite (holding the link is enough)."""
    row = await _usable(tx, raw_token)
    await Invites(tx).set_status(row.id, "REJECTED")
    await audit.record(tx, "invite.rejected", meta=meta, entity_type="invite", entity_id=row.id)


async def pending_for_signup(tx: Tx, *, token: str, email: str) -> PendingInvite | None:
    """The invite a sign-up presents, if usable and addressed to `email`; else None."""
    try:
        row = await _usable(tx, token)
    except InviteNotFound:
        return None
    if row.email != email:
        return None
    return PendingInvite(id=row.id, tenant_id=tx.current_tenant, role=row.role)


async def accept_for_new_user(
    tx: Tx, *, invite: PendingInvite, user_id: UUID, meta: RequestMeta
) -> None:
    """Sign-up through an invite: the new user joins the invite's tenant."""
    await tx.set_context(tenant_id=invite.tenant_id, user_id=user_id)
    row = await Invites(tx).by_id_locked(invite.id)
    if row is None:
        raise InviteNotFound("The invite is not valid")
    await _join(tx, row, user_id, meta)
