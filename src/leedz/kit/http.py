"""ASGI middleware: request ids, access logs, metrics, the last-resort 500, body limits, HEAD."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Collection

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leedz.errors import (
    CorsRefused,
    InternalError,
    LeedzError,
    PayloadTooLarge,
    database_error,
    problem_response,
)
from leedz.kit.metrics import observe_request

log = structlog.get_logger("leedz.http")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")


class RequestContextMiddleware:
    """Gives each request an id (echoed as `X-Request-ID`), logs and measures it, and turns an
    unhandled exception into a problem+json 500 (or 503 when the database is unreachable) that
    leaks no stack trace.

    HTTP semantics FastAPI leaves out: `HEAD` is answered on every GET route (routed as GET, the
    body dropped, its headers kept), and a 204 or 304 carries no `content-type` or
    `content-length` (RFC 9110 §8.6, §15.3.5).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Bound once, with the logging configured by create_app (the module's logger is a lazy
        # proxy that would rebuild itself on every access line).
        self.log = log.bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        started = time.perf_counter()
        status = 500
        response_started = False
        head = scope["method"] == "HEAD"

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                if status in _BODILESS:
                    headers = [(k, v) for k, v in headers if k not in _BODY_HEADERS]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app({**scope, "method": "GET"} if head else scope, receive, send_with_id)
        except Exception as exc:
            # Refusals were answered by the handlers of errors.py; what is left here of the
            # database is an outage (503 database_unavailable).
            error: LeedzError | None = database_error(exc)
            if error is not None:
                self.log.error(error.code, error=repr(exc))
            else:
                error = InternalError("An unexpected error occurred; quote the request id")
                self.log.exception("unhandled_exception")
            if response_started:
                raise
            response = problem_response(error, request_id)
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            observe_request(method, route, status, elapsed)
            self.log.info(
                "request",
                method=method,
                route=route,
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


# Statuses that never have a body, and the headers that would describe one.
_BODILESS = (204, 304)
_BODY_HEADERS = (b"content-type", b"content-length")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _CLIENT_REQUEST_ID.match(candidate) else None
    return None


def _route_template(scope: Scope) -> str:
    # FastAPI keeps included routers nested and records the full template of the matched route
    # (prefixes included) in its effective route context; `scope["route"].path` lacks prefixes.
    fastapi_scope = scope.get("fastapi")
    effective = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    path = getattr(effective, "path_format", None) or getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    # Plain Starlette routes (/openapi.json, /docs) may not record themselves in the scope; a
    # static path is its own template. Anything else stays "unmatched" to bound cardinality.
    for candidate in getattr(scope.get("app"), "routes", ()):
        if isinstance(candidate, Route) and candidate.path == scope["path"]:
            return candidate.path
    return "unmatched"


class BodySizeLimitMiddleware:
    """Refuses request bodies above `max_bytes` with a problem+json 413 before anything parses
    or stores them: a declared Content-Length is checked up front, a chunked body as it arrives.

    Starlette's own limiter answers in plain text, which would break the error contract.
    `exempt` (method, path) pairs enforce a limit of their own while they stream their body
    (POST /v1/files: files/receive.py).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, exempt: Collection[tuple[str, str]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.exempt:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                error = PayloadTooLarge(
                    f"The request body exceeds {self.max_bytes} bytes", limit=self.max_bytes
                )
                state = scope.get("state") or {}
                await problem_response(error, state.get("request_id"))(scope, receive, send)
                return

        if scope["method"] in ("GET", "HEAD") and not any(
            name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"]
        ):
            await self.app(scope, receive, send)  # no body to count
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions met while reading the body; the 413
                    # handler in errors.py renders it as payload_too_large.
                    raise StarletteHTTPException(
                        413, f"The request body exceeds {self.max_bytes} bytes"
                    )
            return message

        await self.app(scope, counting_receive, send)


class CredentialedCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that `Access-Control-Allow-Credentials` is only ever sent
    together with an allowed origin (Starlette adds it to every answer)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(
            name == b"origin" for name, _ in scope.get("headers", ())
        ):
            # Not a browser's cross-origin call (most traffic: agents, servers): nothing to
            # check, only `Vary: Origin` to add so that caches keep the variants apart.
            async def with_vary(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), (b"vary", b"Origin")]
                await send(message)

            await self.app(scope, receive, with_vary)
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if "access-control-allow-origin" not in response.headers:
            del response.headers["access-control-allow-credentials"]
        if response.status_code == CorsRefused.status:
            # Starlette answers a refused preflight in plain text; ours is a problem document
            # like every other refusal (the text names what was refused: origin, method, …).
            refused = problem_response(CorsRefused(bytes(response.body).decode()), None)
            for name, value in response.headers.items():
                if name not in ("content-type", "content-length"):
                    refused.headers[name] = value
            return refused
        return response

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin):
            await super().send(message, send, request_headers)
            return

        async def without_stray_credentials(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "access-control-allow-origin" not in headers:
                    del headers["access-control-allow-credentials"]
            await send(message)

        await super().send(message, without_stray_credentials, request_headers)
