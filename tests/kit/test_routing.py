"""RouteIndex picks exactly the route Starlette's own search would, for every route of the app."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Route

from leedz.kit.routing import RouteIndex

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def starlette_choice(routes: list[BaseRoute], path: str, method: str) -> BaseRoute | None:
    """Starlette's Router.app rule: the first full match, else the first partial one."""
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def sample_paths(app: FastAPI) -> list[str]:
    paths = set()
    for route in app.router.routes:
        if isinstance(route, Route):
            concrete = re.sub(r"\{[^}]+\}", "0b9f3a52-7c1e-4d7a-9a51-3f1d2c4b5e6f", route.path)
            paths |= {concrete, concrete + "/", concrete + "/extra", concrete.upper()}
    return sorted(paths | {"/", "/v1", "/v1/", "/v1/nothing/here", "/socket.io/"})


def test_the_app_dispatches_through_the_index(app: FastAPI) -> None:
    assert isinstance(app.router.middleware_stack, RouteIndex)


@pytest.mark.parametrize("method", METHODS)
def test_every_path_gets_the_route_starlette_would_pick(app: FastAPI, method: str) -> None:
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    routes = app.router.routes
    narrowed = 0
    for path in sample_paths(app):
        candidates = index.candidates(path)
        expected = starlette_choice(routes, path, method)
        if candidates is None:
            continue  # Starlette's router decides, unchanged
        narrowed += 1
        assert len(candidates) < len(routes)
        chosen = starlette_choice(candidates, path, method)
        # No match among the candidates falls back to Starlette's own search, which must then
        # find nothing either (bar its trailing-slash redirect, which it handles itself).
        assert chosen is expected, (method, path)
    assert narrowed > 40


def test_routes_added_later_are_indexed(app: FastAPI) -> None:
    @app.get("/v1/members/late-addition")
    async def late() -> dict[str, bool]:
        return {"late": True}

    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    candidates = index.candidates("/v1/members/late-addition")
    assert candidates is not None
    assert starlette_choice(candidates, "/v1/members/late-addition", "GET") is not None


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
    assert slash.status_code == 307  # Starlette's redirect, as without the index
    assert slash.headers["location"].endswith("/v1/members")
