"""ASGI middleware: request ids, access logs, metrics and the last-resort 500."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leedz.errors import DatabaseUnavailable, InternalError, LeedzError, problem_response
from leedz.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("leedz.http")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")


def _is_database_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError | InterfaceError)
    return False


class RequestContextMiddleware:
    """Gives each request an id (echoed as `X-Request-ID`), logs and measures it, and turns an
    unhandled exception into a problem+json 500 (or 503 when the database is unreachable) that
    leaks no stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error: LeedzError
            if _is_database_outage(exc):
                error = DatabaseUnavailable("The database cannot be reached; retry shortly")
                log.error("database_unavailable", error=repr(exc))
            else:
                error = InternalError("An unexpected error occurred; quote the request id")
                log.exception("unhandled_exception")
            if response_started:
                raise
            response = problem_response(error, request_id)
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(elapsed)
            log.info(
                "request",
                method=method,
                route=route,
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _CLIENT_REQUEST_ID.match(candidate) else None
    return None


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    # Plain Starlette routes (/openapi.json, /docs) may not record themselves in the scope; a
    # static path is its own template. Anything else stays "unmatched" to bound cardinality.
    for candidate in getattr(scope.get("app"), "routes", ()):
        if isinstance(candidate, Route) and candidate.path == scope["path"]:
            return candidate.path
    return "unmatched"
