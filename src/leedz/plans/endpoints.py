from __future__ import annotations

from fastapi import APIRouter

from leedz.access.permissions import ROLE_ORDER, permissions_of
from leedz.kit.db import PublicTx
from leedz.kit.schemas import ApiModel
from leedz.plans import service as plans
from leedz.plans.schemas import PlanOut

router = APIRouter()


class PermissionsOut(ApiModel):
    roles: dict[str, list[str]]


@router.get("/plans", tags=["plans"])
async def list_plans(tx: PublicTx) -> list[PlanOut]:
    """The public plan catalog with quotas and features."""
    return await plans.list_plans(tx)


@router.get("/permissions", tags=["auth"])
async def get_permissions() -> PermissionsOut:
    """The role → permissions map the front end uses to show or hide actions."""
    return PermissionsOut(roles={role.value: permissions_of(role) for role in ROLE_ORDER})
