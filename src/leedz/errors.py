"""The error hierarchy and its problem+json (RFC 9457) rendering.

Services raise `LeedzError` subclasses; nothing else in the code base builds error responses.
Every problem carries a stable machine-readable `code` and the request id.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"


class LeedzError(Exception):
    """Base of every error a client may see. Subclasses fix status, code and title."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # True: the request's transaction commits what it wrote before failing (audit of a refusal).
    keep_changes: bool = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class Unauthorized(LeedzError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(LeedzError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(LeedzError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(LeedzError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class Conflict(LeedzError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(LeedzError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class ValidationFailed(LeedzError):
    status, code, title = 422, "validation_error", "Invalid request"


class CorsRefused(LeedzError):
    """A browser's preflight from an origin, or for a method or header, that is not allowed."""

    status, code, title = 400, "cors_refused", "Cross-origin request refused"


class QuotaExceeded(LeedzError):
    """Over what the plan allows: 402, the answer a plan upgrade changes (docs/api.md)."""

    status, code, title = 402, "quota_exceeded", "Plan quota exceeded"


class FeatureNotInPlan(LeedzError):
    """A feature the tenant's plan does not include (`features` in GET /v1/plans): 402, like a
    quota, because a plan upgrade changes the answer."""

    status, code, title = 402, "feature_not_in_plan", "Feature not in plan"


class ServiceUnavailable(LeedzError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    code, title = "database_unavailable", "Database unavailable"


class InternalError(LeedzError):
    status, code, title = 500, "internal_error", "Internal server error"


_STATUS_ERRORS: dict[int, type[LeedzError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def request_id_of(scope_state: dict[str, Any] | None) -> str | None:
    return (scope_state or {}).get("request_id")


def problem_body(error: LeedzError, request_id: str | None) -> dict[str, Any]:
    return {
        "type": f"urn:leedz:problem:{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "requestId": request_id,
        **error.extra,
    }


def problem_response(error: LeedzError, request_id: str | None) -> JSONResponse:
    return JSONResponse(
        problem_body(error, request_id),
        status_code=error.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=error.headers or None,
    )


def _request_id(request: Request) -> str | None:
    return request_id_of(request.scope.get("state"))


async def _leedz_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, LeedzError):  # pragma: no cover - registered for this type only
        raise exc
    return problem_response(exc, _request_id(request))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(
        exc, StarletteHTTPException
    ):  # pragma: no cover - registered for this type only
        raise exc
    error_class = _STATUS_ERRORS.get(exc.status_code)
    if error_class is None:
        error = LeedzError(str(exc.detail))
        error.status = exc.status_code
    elif exc.status_code == 413:
        error = error_class(str(exc.detail))
    else:
        error = error_class()
    response = problem_response(error, _request_id(request))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(
        exc, RequestValidationError
    ):  # pragma: no cover - registered for this type only
        raise exc
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    malformed = any(err["type"] == "json_invalid" for err in errors)
    error = ValidationFailed(
        "The request body is not valid JSON" if malformed else "The request is invalid",
        errors=errors,
    )
    return problem_response(error, _request_id(request))


class ConcurrentUpdate(Conflict):
    code, title = "concurrent_update", "Changed concurrently"


class DatabaseTimeout(ServiceUnavailable):
    code, title = "database_timeout", "Database timeout"


# PostgreSQL cannot be reached, or went away mid-operation: refused, dropped, starting up or
# shutting down, or no pooled connection came free in time (`TimeoutError`). 503, retry shortly.
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)

# What PostgreSQL refuses for reasons a client can act on: 4xx/503, never 500.
DATABASE_REFUSALS: tuple[type[Exception], ...] = (
    asyncpg.UniqueViolationError,
    asyncpg.DataError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.QueryCanceledError,
)


def database_error(exc: BaseException) -> LeedzError | None:
    """What a client is told about a failed database call, the same over REST and sockets.

    None when `exc` is neither an outage nor a refusal: a bug, answered as `internal_error`.
    The request path runs on asyncpg alone (kit/db.py): no SQLAlchemy error reaches here.
    """
    if isinstance(exc, DATABASE_OUTAGES):
        return DatabaseUnavailable("The database cannot be reached; retry shortly")
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict("That already exists, or was just created by another request")
    if isinstance(exc, asyncpg.DataError):
        return ValidationFailed("A value is out of range or not representable")
    if isinstance(exc, asyncpg.QueryCanceledError):  # the statement timeout
        return DatabaseTimeout("The database took too long to answer; retry")
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return ConcurrentUpdate("Another request changed the same data; retry")
    return None


async def _database_refusal(request: Request, exc: Exception) -> JSONResponse:
    error = database_error(exc)
    if error is None:  # pragma: no cover - registered for DATABASE_REFUSALS only
        raise exc
    return problem_response(error, _request_id(request))


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457): a stable machine-readable `code` and the request id.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "requestId"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "requestId": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
    },
    "additionalProperties": True,
}
_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as served: 422s are problem+json, as `_validation_error` answers.

    FastAPI documents its own default (`application/json` `{detail: [...]}`), which this app never
    sends; clients generated from the document would type every validation error wrongly.
    """
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            response = operation.get("responses", {}).get("422")
            if (
                response
                and response.get("content", {}).get("application/json", {}).get("schema")
                == _FASTAPI_422
            ):
                response["content"] = {
                    PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
    schemas = spec.get("components", {}).get("schemas")
    if schemas is not None and "HTTPValidationError" in schemas:
        del schemas["HTTPValidationError"]
        schemas["Problem"] = PROBLEM_SCHEMA
    return spec


def install_problem_documents(app: FastAPI) -> None:
    """Serve `document_problems(FastAPI's document)` at /openapi.json (built once, cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LeedzError, _leedz_error)
    for database_error in DATABASE_REFUSALS:
        app.add_exception_handler(database_error, _database_refusal)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
