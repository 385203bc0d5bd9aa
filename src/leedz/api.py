"""Every router, included in one place: the whole API surface at a glance."""

from __future__ import annotations

import functools
from types import MappingProxyType

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

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


def operation_id(route: APIRoute) -> str:
    """Clean OpenAPI operation ids (`createJob`), used by generated clients."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


@functools.cache
def api_routes() -> tuple[BaseRoute, ...]:
    """Every route of the API, built once a process.

    Including a router makes FastAPI build each route again: its dependency graph, its
    response model's validator (0.14 s for the whole API, most of what `create_app` costs). A
    process that makes many apps (the tests: one a test) pays that once. The routes hold nothing
    of an app: no dependency overrides are used (they would be looked up on this holder), and no
    router has startup or shutdown handlers or a lifespan of its own (tests/test_routes.py
    checks both, and that the routes equal what `app.include_router` makes).
    """
    # As FastAPI() sets its own router (strict_content_type=True, not the default placeholder).
    holder = APIRouter(generate_unique_id_function=operation_id, strict_content_type=True)
    # Included one level deep (not through a nested /v1 router): route matching walks each level.
    holder.include_router(ops_router)
    for router in V1_ROUTERS:
        holder.include_router(router, prefix="/v1")
    return tuple(holder.routes)


def include_routers(app: FastAPI) -> None:
    # What an upload is, told by the import reader (files/endpoints.py `Detect`).
    app.state.detect_upload = reader.detect
    app.router.routes.extend(api_routes())
    # The shared routes never consult the app's dependency overrides: one set here would be
    # ignored without a word, so setting one fails instead (TypeError).
    app.dependency_overrides = MappingProxyType({})  # type: ignore[assignment]
