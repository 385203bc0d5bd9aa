from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, status

from leedz.access.context import CurrentActor, Meta, Require, RequireVerifiedEmail, TenantTx
from leedz.access.permissions import Permission
from leedz.invites import service as invites
from leedz.invites.schemas import (
    InviteCreate,
    InviteLookup,
    InviteOut,
    InviteToken,
    InviteWithLink,
    MembershipOut,
)
from leedz.kit.db import PublicTx
from leedz.kit.deps import rate_limited, settings_of
from leedz.kit.pagination import Page

router = APIRouter(prefix="/invites", tags=["invites"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Require(Permission.MEMBERS_INVITE), RequireVerifiedEmail()],
)
async def create_invite(
    body: InviteCreate, tx: TenantTx, actor: CurrentActor, request: Request
) -> InviteWithLink:
    """Invite someone by email; the accept link is shown here once and mailed."""
    return await invites.create(tx, actor, body, web_url=settings_of(request).web_url)


@router.get("", dependencies=[Require(Permission.INVITES_READ)])
async def list_invites(tx: TenantTx) -> Page[InviteOut]:
    return Page[InviteOut](items=await invites.pending(tx))


@router.delete(
    "/{invite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Require(Permission.INVITES_MANAGE)],
)
async def revoke_invite(invite_id: UUID, tx: TenantTx, actor: CurrentActor) -> None:
    await invites.revoke(tx, actor, invite_id)


@router.post(
    "/{invite_id}/resend",
    dependencies=[Require(Permission.INVITES_MANAGE), RequireVerifiedEmail()],
)
async def resend_invite(
    invite_id: UUID, tx: TenantTx, actor: CurrentActor, request: Request
) -> InviteWithLink:
    """A new link (the old one stops working), mailed again."""
    return await invites.resend(tx, actor, invite_id, web_url=settings_of(request).web_url)


@router.post("/lookup", dependencies=[rate_limited("rate_limit_invite_lookup", "invite-lookup")])
async def lookup_invite(body: InviteToken, tx: PublicTx) -> InviteLookup:
    """What an invite link offers (no sign-in needed)."""
    return await invites.lookup(tx, body.token)


@router.post("/accept")
async def accept_invite(body: InviteToken, tx: TenantTx, actor: CurrentActor) -> MembershipOut:
    """Join the invite's tenant (the signed-in user's email must be the invited one)."""
    return await invites.accept(tx, actor, body.token)


@router.post(
    "/reject",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limited("rate_limit_invite_lookup", "invite-lookup")],
)
async def reject_invite(body: InviteToken, tx: PublicTx, meta: Meta) -> None:
    """Decline an invite; holding the link is enough."""
    await invites.reject(tx, body.token, meta)
