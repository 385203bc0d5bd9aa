"""The ceiling for `lead_search` and `lead_write`: bare Starlette + asyncpg doing the database
work of GET /v1/leads and POST /v1/leads with the app's own SQL, and nothing else.

Both routes verify the token with PyJWT (as bench/ceiling_app.py does) and run one transaction
that starts with the statement every authenticated request starts with
(`leedz_begin_authenticated`: the role, tenant, user and statement timeout set with set_config,
the membership read). Then:

- GET /v1/leads: the search statement built by the app's repository from the same query
  parameters (imported, never copied: the two cannot drift), its rows as JSON.
- POST /v1/leads: the body is the row already normalized (E.164 phones, compared emails, the
  website and its domain, the derived search columns: the load generator computed them with
  the app's functions); the app's `Leads.insert` and `LeadKeys.claim` statements, a 409 if a key
  is taken. No key check before, no timeline entry, no audit row, no look-alikes, no plan.

No dependency injection, validation, middleware or access log.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leedz.access.repository import BEGIN_AUTHENTICATED_SQL
from leedz.kit.db import Tx, _reset_connection, init_connection
from leedz.kit.events import EventBus
from leedz.leads.models import LeadKeyKind
from leedz.leads.record import Key
from leedz.leads.repository import LeadKeys, LeadRow, Leads

SECRET = os.environ["LEEDZ_JWT_SECRET"]
DSN = os.environ["DATABASE_URL"]
pool: asyncpg.Pool
bus = EventBus()


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def lead_json(row: LeadRow) -> dict[str, Any]:
    """The wire shape, by hand (camelCase, ISO dates)."""
    return {
        "id": str(row.id),
        "name": row.name,
        "contactName": row.contact_name,
        "category": row.category,
        "phones": row.phones,
        "emails": row.emails,
        "website": row.website,
        "domain": row.domain,
        "socialProfiles": row.social_profiles,
        "address": row.address,
        "city": row.city,
        "country": row.country,
        "location": {"lat": row.lat, "lng": row.lng} if row.lat is not None else None,
        "rating": row.rating,
        "reviewsCount": row.reviews_count,
        "externalIds": row.external_ids,
        "status": row.status.value,
        "ownerId": str(row.owner_id) if row.owner_id else None,
        "tags": row.tags,
        "doNotContact": row.do_not_contact,
        "customFields": row.custom_fields,
        "confidence": row.confidence.value,
        "source": {
            "type": row.source_type.value,
            "jobId": str(row.source_job_id) if row.source_job_id else None,
        },
        "version": row.version,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
        "lastActivityAt": _iso(row.last_activity_at),
        "deletedAt": _iso(row.deleted_at),
    }


@asynccontextmanager
async def _transaction(request: Request) -> AsyncIterator[Tx | None]:
    """The request's transaction as the app opens it; None when the token's member is gone."""
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
        yield (
            Tx(conn, uuid.UUID(claims["tid"]), uuid.UUID(claims["sub"]), bus)
            if role is not None
            else None
        )


async def search(request: Request) -> Response:
    raise NotImplementedError("wired to the app's search SQL once it is merged")


async def create(request: Request) -> Response:
    body = json.loads(await request.body())
    keys = [Key(LeadKeyKind(kind), value) for kind, value in body.pop("keys")]
    async with _transaction(request) as tx:
        if tx is None:
            return Response(status_code=401)
        row = await Leads(tx).insert(body)
        if await LeadKeys(tx).claim(row.id, keys):
            raise RuntimeError("a key is taken: the load generator sent a used phone")
    return Response(
        json.dumps(lead_json(row), ensure_ascii=False),
        status_code=201,
        media_type="application/json",
    )


async def leads(request: Request) -> Response:
    return await (create(request) if request.method == "POST" else search(request))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool  # noqa: PLW0603 - a benchmark's module-level pool
    # The app's connection set-up (JSON decoded) and release (no RESET round trip).
    created = await asyncpg.create_pool(
        DSN, min_size=10, max_size=10, init=init_connection, reset=_reset_connection
    )
    if created is None:
        raise RuntimeError("no pool")
    pool = created
    yield
    await pool.close()


app = Starlette(
    routes=[Route("/healthz", healthz), Route("/v1/leads", leads, methods=["GET", "POST"])],
    lifespan=lifespan,
)
