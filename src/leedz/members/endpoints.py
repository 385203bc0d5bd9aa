from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from leedz.access.context import CurrentActor, Require, TenantTx
from leedz.access.permissions import Permission
from leedz.kit.pagination import Page
from leedz.members import service as members
from leedz.members.schemas import MemberOut, RoleChange

router = APIRouter(prefix="/members", tags=["members"])


@router.get("", dependencies=[Require(Permission.MEMBERS_READ)])
async def list_members(tx: TenantTx) -> Page[MemberOut]:
    """Every member (bounded by the plan's maxUsers, so one page)."""
    return Page[MemberOut](items=await members.list_members(tx))


@router.post("/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave_tenant(tx: TenantTx, actor: CurrentActor) -> None:
    await members.leave(tx, actor)


@router.patch("/{user_id}", dependencies=[Require(Permission.MEMBERS_UPDATE_ROLE)])
async def change_member_role(
    user_id: UUID, body: RoleChange, tx: TenantTx, actor: CurrentActor
) -> MemberOut:
    return await members.change_role(tx, actor, user_id, body.role)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Require(Permission.MEMBERS_REMOVE)],
)
async def remove_member(user_id: UUID, tx: TenantTx, actor: CurrentActor) -> None:
    await members.remove(tx, actor, user_id)
