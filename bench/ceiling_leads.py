"""The ceiling for `lead_search` and `lead_write`: bare Starlette + asyncpg doing the database
work of GET /v1/leads and POST /v1/leads with the app's own SQL, and nothing else.

Both routes verify the token with PyJWT (as bench/ceiling_app.py does) and run one transaction
that starts with the statement every authenticated request starts with
(`leedz_begin_authenticated`: the role, tenant, user and statement timeout set with set_config,
the membership read). Then:

- GET /v1/leads: q turned into LIKE patterns by the app's `search.q_patterns`, then the app's
  `LeadSearch.page` — its statements, built by leads/repository.py (imported, never copied:
  the two cannot drift): the adaptive walk of the sort's index and, for a rare q, the scan —
  newest first (the default sort), the page and its cursor as JSON.
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
from leedz.kit.pagination import DEFAULT_LIMIT
from leedz.leads.models import LeadKeyKind
from leedz.leads.record import Key
from leedz.leads.repository import (
    LeadConditions,
    LeadKeys,
    LeadQuerySpec,
    LeadRow,
    Leads,
    LeadSearch,
)
from leedz.leads.schemas import LeadSort
from leedz.leads.search import encode_lead_cursor, q_patterns

SECRET = os.environ["LEEDZ_JWT_SECRET"]
DSN = os.environ["DATABASE_URL"]
# The tenants' default country as signed up (the app reads it per request: one statement the
# ceiling leaves out).
DEFAULT_COUNTRY = "SA"
LIMIT = DEFAULT_LIMIT
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
    q = (request.query_params.get("q") or "").strip()
    # The app's translation of q (search.q_patterns) and its statement (LeadSearch.page over
    # repository.page_sql), newest first as GET /v1/leads sorts by default.
    patterns = q_patterns(q, default_country=DEFAULT_COUNTRY) if q else ()
    spec = LeadQuerySpec(
        conditions=(LeadConditions(patterns=patterns, never=bool(q) and not patterns),)
    )
    async with _transaction(request) as tx:
        if tx is None:
            return Response(status_code=401)
        hits = await LeadSearch(tx).page(
            spec, column="created_at", descending=True, after=None, limit=LIMIT + 1
        )
    more = len(hits) > LIMIT
    hits = hits[:LIMIT]
    last = hits[-1] if more else None
    cursor = (
        encode_lead_cursor(LeadSort.CREATED_AT_DESC, last.sort_key, last.lead.id) if last else None
    )
    payload = {"items": [lead_json(h.lead) for h in hits], "nextCursor": cursor}
    return Response(json.dumps(payload, ensure_ascii=False), media_type="application/json")


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
