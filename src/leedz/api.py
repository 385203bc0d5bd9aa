"""Every router, included in one place: the whole API surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from leedz.audit.endpoints import router as audit_router
from leedz.auth.endpoints import router as auth_router
from leedz.invites.endpoints import router as invites_router
from leedz.members.endpoints import router as members_router
from leedz.ops.endpoints import router as ops_router
from leedz.plans.endpoints import router as plans_router
from leedz.tenants.endpoints import router as tenants_router

v1 = APIRouter(prefix="/v1")
v1.include_router(auth_router)
v1.include_router(tenants_router)
v1.include_router(plans_router)
v1.include_router(members_router)
v1.include_router(invites_router)
v1.include_router(audit_router)


def include_routers(app: FastAPI) -> None:
    app.include_router(ops_router)
    app.include_router(v1)
