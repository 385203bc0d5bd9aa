from __future__ import annotations

from fastapi import APIRouter, Request, status

from leedz.access.context import CurrentActor, Require, TenantTx
from leedz.access.permissions import Permission
from leedz.kit.deps import settings_of
from leedz.kit.pagination import Page
from leedz.plans import service as plans
from leedz.plans.schemas import Usage
from leedz.tenants import service as tenants
from leedz.tenants.schemas import TenantCreate, TenantOut, TenantUpdate, TenantWithRole

router = APIRouter(prefix="/tenants", tags=["tenants"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_tenant(
    body: TenantCreate, tx: TenantTx, actor: CurrentActor, request: Request
) -> TenantOut:
    """A new tenant with the caller as OWNER (switch to it with /auth/switch-tenant); one person
    owns at most `LEEDZ_MAX_FREE_WORKSPACES_PER_USER` FREE ones (402 `quota_exceeded`)."""
    max_free = settings_of(request).max_free_workspaces_per_user
    return await tenants.create_own_tenant(tx, actor, body, max_free=max_free)


@router.get("")
async def list_tenants(tx: TenantTx, actor: CurrentActor) -> Page[TenantWithRole]:
    """The tenants the caller belongs to, with their role in each."""
    return Page[TenantWithRole](items=await tenants.my_tenants(tx, actor))


@router.get("/current", dependencies=[Require(Permission.TENANT_READ)])
async def get_current_tenant(tx: TenantTx) -> TenantOut:
    return await tenants.current_tenant(tx)


@router.patch("/current", dependencies=[Require(Permission.TENANT_UPDATE)])
async def update_current_tenant(body: TenantUpdate, tx: TenantTx, actor: CurrentActor) -> TenantOut:
    return await tenants.update_tenant(tx, actor, body)


@router.get("/current/usage", dependencies=[Require(Permission.USAGE_READ)])
async def get_tenant_usage(tx: TenantTx) -> Usage:
    """This month's consumption against the plan's limits."""
    return await plans.usage(tx)
