"""Every router, included in one place: the whole API surface at a glance."""

from __future__ import annotations

from fastapi import FastAPI

from leedz.agents.endpoints import router as agents_router
from leedz.audit.endpoints import router as audit_router
from leedz.auth.endpoints import router as auth_router
from leedz.files.endpoints import router as files_router
from leedz.imports import reader
from leedz.imports.endpoints import router as imports_router
from leedz.invites.endpoints import router as invites_router
from leedz.jobs.endpoints import router as jobs_router
from leedz.leads.endpoints import router as leads_router
from leedz.leases.endpoints import router as leases_router
from leedz.lists.endpoints import router as lists_router
from leedz.members.endpoints import router as members_router
from leedz.merges.endpoints import router as merges_router
from leedz.ops.endpoints import router as ops_router
from leedz.plans.endpoints import router as plans_router
from leedz.tenants.endpoints import router as tenants_router

V1_ROUTERS = (
    auth_router,
    tenants_router,
    plans_router,
    members_router,
    invites_router,
    audit_router,
    jobs_router,
    imports_router,
    agents_router,
    leases_router,
    leads_router,
    merges_router,
    lists_router,
    files_router,
)


def include_routers(app: FastAPI) -> None:
    # What an upload is, told by the import reader (files/endpoints.py `Detect`).
    app.state.detect_upload = reader.detect
    app.include_router(ops_router)
    # Included one level deep (not through a nested /v1 router): route matching walks each level.
    for router in V1_ROUTERS:
        app.include_router(router, prefix="/v1")
