"""The ceiling for `auth_read`: a bare Starlette + asyncpg app doing the same work as
GET /v1/members — PyJWT verification, then the same SQL statements in one transaction (the
authenticated start with its set_config calls, then the listing) — and nothing else (no
dependency injection, validation, middleware or logs)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leedz.access.repository import BEGIN_AUTHENTICATED_SQL
from leedz.kit.db import _reset_connection

SECRET = os.environ["LEEDZ_JWT_SECRET"]
DSN = os.environ["DATABASE_URL"]
LIST_SQL = (
    "SELECT u.id, u.email, u.name, u.avatar_url, u.created_at, m.role,"
    " m.created_at AS joined_at FROM memberships m JOIN users u ON u.id = m.user_id"
    " WHERE m.tenant_id = $1 ORDER BY m.created_at, u.id"
)
pool: asyncpg.Pool


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


async def members(request: Request) -> Response:
    token = request.headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="leedz-api", issuer="leedz")
    async with pool.acquire() as conn, conn.transaction():
        role = await conn.fetchval(
            BEGIN_AUTHENTICATED_SQL,
            "leedz_app",
            claims["tid"],
            claims["sub"],
            "15000",
            claims["jti"],
        )
        if role is None:
            return Response(status_code=401)
        rows = await conn.fetch(LIST_SQL, claims["tid"])
    items = [
        {
            "user": {
                "id": str(r["id"]),
                "email": r["email"],
                "name": r["name"],
                "avatarUrl": r["avatar_url"],
                "createdAt": r["created_at"].isoformat(),
            },
            "role": r["role"],
            "joinedAt": r["joined_at"].isoformat(),
        }
        for r in rows
    ]
    return Response(json.dumps({"items": items, "nextCursor": None}), media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool  # noqa: PLW0603 - a benchmark's module-level pool
    # Same statements as the subject: no per-release RESET round trip (see kit/db.py).
    created = await asyncpg.create_pool(DSN, min_size=10, max_size=10, reset=_reset_connection)
    if created is None:
        raise RuntimeError("no pool")
    pool = created
    yield
    await pool.close()


app = Starlette(
    routes=[Route("/healthz", healthz), Route("/v1/members", members)], lifespan=lifespan
)
