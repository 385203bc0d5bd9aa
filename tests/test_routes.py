"""Requests find their route by Starlette's own rules: an unknown path, a wrong method and a
trailing slash get what they always did."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from leedz import api
from leedz.app import create_app
from leedz.config import Settings
from leedz.ops.endpoints import router as ops_router


async def test_not_found_wrong_method_and_trailing_slash_behave_as_before(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v1/members-and-more")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = await client.put("/v1/members")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    slash = await client.get("/v1/members/", follow_redirects=False)
    assert slash.status_code == 307  # Starlette's redirect
    assert slash.headers["location"].endswith("/v1/members")


def _shape(route: BaseRoute) -> tuple[object, ...]:
    """What a route is to a request and to the OpenAPI document."""
    if not isinstance(route, APIRoute):
        return (type(route), getattr(route, "path", None), getattr(route, "name", None))
    return (
        type(route), route.path, route.name, sorted(route.methods), route.unique_id,
        route.operation_id, route.status_code, route.response_class, route.response_model,
        route.include_in_schema, route.strict_content_type, route.tags, route.responses,
        [d.dependency for d in route.dependencies], route.endpoint,
        [(p.name, p.field_info.alias) for p in route.dependant.query_params],
        route.dependency_overrides_provider is None,
    )  # fmt: skip


def test_the_routes_built_once_are_those_include_router_makes() -> None:
    # api_routes() builds the routes once a process; each app used to include every router.
    built = FastAPI(generate_unique_id_function=api.operation_id)
    built.include_router(ops_router)
    for router in api.V1_ROUTERS:
        built.include_router(router, prefix="/v1")
    made = [r for r in built.router.routes if isinstance(r, APIRoute)]
    ours = list(api.api_routes())
    assert [(*_shape(r)[:-1], True) for r in made] == [_shape(r) for r in ours]
    assert len(ours) > 50


def test_no_router_has_handlers_or_a_lifespan_of_its_own() -> None:
    # api_routes() keeps routes only: a router's startup/shutdown handlers or lifespan would be
    # lost (app.include_router merges them into the app's).
    default = APIRouter().lifespan_context
    for router in (ops_router, *api.V1_ROUTERS):
        assert router.on_startup == []
        assert router.on_shutdown == []
        assert type(router.lifespan_context) is type(default)


def test_two_apps_share_the_routes_and_answer_alike(settings: Settings, database_url: str) -> None:
    first = create_app(settings, database_url=database_url)
    second = create_app(settings, database_url=database_url)
    assert first.openapi() == second.openapi()
    ours = set(map(id, api.api_routes()))
    assert ours <= set(map(id, first.router.routes))
    assert ours <= set(map(id, second.router.routes))


def test_a_dependency_override_fails_instead_of_being_ignored(
    settings: Settings, database_url: str
) -> None:
    app = create_app(settings, database_url=database_url)
    with pytest.raises(TypeError):
        app.dependency_overrides[create_app] = lambda: None
