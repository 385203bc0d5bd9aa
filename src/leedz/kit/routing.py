"""Route dispatch by the path's first two segments, in front of Starlette's router.

Starlette tries the routes one by one, a regular expression each, in the order they were added:
`/v1/members` was the 22nd of 47 routes, the agent's REST calls the last five. That search was
~8 % of the event loop's time serving `GET /v1/members` (py-spy during `make bench` auth_read).

`RouteIndex` groups the routes by their first two path segments when both are literal
(`/v1/members/{user_id}` → `("v1", "members")`). A request whose first two segments name a group
is matched against that group alone, plus the routes that have no group (a parameter or fewer
than two segments: they may match anything), in their original order, with Starlette's own
rules: the first full match wins, else the first partial one (405). A route outside the group
cannot match the path: its pattern starts with other literal segments. Anything else (no group,
no match, a websocket, the lifespan) goes to Starlette's router unchanged, which also does the
trailing-slash redirects and the 404.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

Key = tuple[str, str]


def _key(path: str) -> Key | None:
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[0] != "":
        return None
    return parts[1], parts[2]


def _route_key(route: BaseRoute) -> Key | None:
    """The group of a route whose pattern starts with two literal segments; None otherwise."""
    if not isinstance(route, Route | WebSocketRoute):
        return None  # a Mount or a Host may match below any prefix
    key = _key(route.path)
    if key is None or "{" in key[0] or "{" in key[1] or not key[0] or not key[1]:
        return None
    return key


class RouteIndex:
    """Installed as the router's dispatch: `RouteIndex.install(app.router)`."""

    def __init__(self, router: Router, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self._indexed: tuple[int, BaseRoute | None] = (0, None)  # length and last route indexed
        self._groups: dict[Key, list[BaseRoute]] = {}

    @classmethod
    def install(cls, router: Router) -> RouteIndex:
        # In front of the router's own dispatch: middleware of the router itself would be skipped
        # for the routes the index finds.
        if router.middleware_stack != router.app:
            raise RuntimeError("RouteIndex cannot sit in front of a router's own middleware")
        index = cls(router, router.middleware_stack)
        router.middleware_stack = index
        return index

    def candidates(self, path: str) -> list[BaseRoute] | None:
        """The routes that may match `path`, in order; None: ask Starlette's router."""
        routes = self.router.routes
        if self._indexed != (len(routes), routes[-1] if routes else None):
            self._rebuild(routes)  # routes added since (routes are only ever appended)
        key = _key(path)
        return self._groups.get(key) if key is not None else None

    def _rebuild(self, routes: list[BaseRoute]) -> None:
        keys = [_route_key(route) for route in routes]
        self._groups = {
            group: [route for route, key in zip(routes, keys, strict=True) if key in (group, None)]
            for group in {key for key in keys if key is not None}
        }
        self._indexed = (len(routes), routes[-1] if routes else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routes = self.candidates(get_route_path(scope)) if scope["type"] == "http" else None
        if routes is not None:
            partial: tuple[BaseRoute, Scope] | None = None
            for route in routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.router)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
                if match is Match.PARTIAL and partial is None:
                    partial = route, child_scope
            if partial is not None:
                route, child_scope = partial
                scope.setdefault("router", self.router)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        await self.fallback(scope, receive, send)
