from __future__ import annotations

import secrets
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from leedz.errors import ServiceUnavailable, Unauthorized
from leedz.kit.db import Database

router = APIRouter(tags=["ops"])
log = structlog.get_logger("leedz.ops")

READINESS_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    migration: str


@router.get("/healthz", operation_id="healthz", summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: the database answers and its schema is at the expected migration",
    responses={503: {"description": "Not ready"}},
)
async def readyz(request: Request) -> Readiness:
    db: Database = request.app.state.db
    expected: str = request.app.state.migration_head
    try:
        current = await db.ping(within_seconds=READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness_database_unreachable", error=repr(exc))
        raise ServiceUnavailable(
            "The database is unreachable", database="unreachable", migration=None
        ) from exc
    if current != expected:
        raise ServiceUnavailable(
            f"The database is at migration {current!r}, expected {expected!r}",
            database="ok",
            migration=current,
        )
    return Readiness(status="ready", database="ok", migration=current)


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    include_in_schema=True,
    # Documents the answer as text (the Prometheus exposition format), not JSON.
    response_class=PlainTextResponse,
)
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token: str | None = request.app.state.settings.metrics_token
    if token is not None:
        presented = (authorization or "").removeprefix("Bearer ")
        if not secrets.compare_digest(presented.encode(), token.encode()):
            raise Unauthorized("A metrics token is required")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
