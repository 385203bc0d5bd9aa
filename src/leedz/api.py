"""Every router, included in one place: the whole API surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from leedz.ops.endpoints import router as ops_router

v1 = APIRouter(prefix="/v1")
# Feature routers join here as they land: auth, tenants, members, invites, plans, jobs, agents…


def include_routers(app: FastAPI) -> None:
    app.include_router(ops_router)
    app.include_router(v1)
