"""SQL of leads, their keys and their timeline. Every statement is scoped to the tenant (`$1`).

`visible_to` (a user id, or None) narrows reads and writes to the leads that user owns and the
unassigned ones: the code's half of the SALES visibility rule (row-level security is the
other half, migration 20261201_1400).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import asyncpg

from leedz.evidence.models import Confidence
from leedz.kit.repository import TenantRepository
from leedz.leads.models import ActivityType, LeadKeyKind, LeadSource, LeadStatus
from leedz.leads.record import Key

LEAD_COLUMNS = (
    "id, name, contact_name, category, phones, emails, website, domain, social_profiles,"
    " address, city, country, lat, lng, rating, reviews_count, external_ids, status, owner_id,"
    " tags, do_not_contact, custom_fields, confidence, source_type, source_job_id,"
    " edited_fields, version, created_by_id, created_at, updated_at, last_activity_at,"
    " deleted_at, merged_into_id"
)

# The columns a write may set, with the SQL cast of their parameter.
WRITABLE: dict[str, str] = {
    "name": "text",
    "contact_name": "text",
    "category": "text",
    "phones": "text[]",
    "emails": "text[]",
    "website": "text",
    "domain": "text",
    "social_profiles": "jsonb",
    "address": "text",
    "city": "text",
    "country": "text",
    "lat": "float8",
    "lng": "float8",
    "rating": "float8",
    "reviews_count": "int4",
    "external_ids": "jsonb",
    "status": "lead_status",
    "owner_id": "uuid",
    "tags": "text[]",
    "do_not_contact": "bool",
    "custom_fields": "jsonb",
    "confidence": "confidence",
    "source_type": "lead_source",
    "source_job_id": "uuid",
    "edited_fields": "text[]",
    "search_text": "text",
    "name_sort": "text",
    "name_key": "text",
    "created_by_id": "uuid",
}
_JSON_COLUMNS = frozenset({"social_profiles", "external_ids", "custom_fields"})

# Live: neither in the trash nor folded into another lead.
LIVE = "deleted_at IS NULL AND merged_into_id IS NULL"


@dataclass(frozen=True, slots=True)
class LeadRow:
    """A lead, as `LEAD_COLUMNS` reads it."""

    id: UUID
    name: str
    contact_name: str | None
    category: str | None
    phones: list[str]
    emails: list[str]
    website: str | None
    domain: str | None
    social_profiles: dict[str, str]
    address: str | None
    city: str | None
    country: str | None
    lat: float | None
    lng: float | None
    rating: float | None
    reviews_count: int | None
    external_ids: dict[str, str]
    status: LeadStatus
    owner_id: UUID | None
    tags: list[str]
    do_not_contact: bool
    custom_fields: dict[str, Any]
    confidence: Confidence
    source_type: LeadSource
    source_job_id: UUID | None
    edited_fields: list[str]
    version: int
    created_by_id: UUID | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    deleted_at: datetime | None
    merged_into_id: UUID | None

    @classmethod
    def of(cls, row: asyncpg.Record | Mapping[str, Any]) -> Self:
        return cls(
            **{
                **row,
                "status": LeadStatus(row["status"]),
                "confidence": Confidence(row["confidence"]),
                "source_type": LeadSource(row["source_type"]),
            }
        )

    @property
    def live(self) -> bool:
        return self.deleted_at is None and self.merged_into_id is None

    def column(self, name: str) -> Any:
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """A key already held, and the lead holding it."""

    kind: LeadKeyKind
    value: str
    lead_id: UUID
    name: str
    deleted: bool


@dataclass(frozen=True, slots=True)
class LookAlike:
    id: UUID
    name: str


@dataclass(frozen=True, slots=True)
class ActivityRow:
    id: UUID
    lead_id: UUID
    type: ActivityType
    actor_user_id: UUID | None
    actor_agent_id: UUID | None
    body: str | None
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**row, "type": ActivityType(row["type"])})


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False)
    if hasattr(value, "value") and column in {"status", "confidence", "source_type"}:
        return value.value
    return value


def _visibility(param: int) -> str:
    return f" AND (${param}::uuid IS NULL OR owner_id IS NULL OR owner_id = ${param}::uuid)"


class Leads(TenantRepository):
    async def insert(self, columns: Mapping[str, Any]) -> LeadRow:
        names = [name for name in columns if name in WRITABLE]
        placeholders = ", ".join(f"${i + 2}::{WRITABLE[n]}" for i, n in enumerate(names))
        row = await self.fetchrow_one(
            f"INSERT INTO leads (tenant_id, {', '.join(names)}) VALUES ($1, {placeholders})"
            f" RETURNING {LEAD_COLUMNS}",
            *(_encode(n, columns[n]) for n in names),
        )
        return LeadRow.of(row)

    async def get(
        self,
        lead_id: UUID,
        *,
        visible_to: UUID | None = None,
        for_update: bool = False,
        include_merged: bool = False,
    ) -> LeadRow | None:
        """A lead (live or in the trash; folded-in ones only with `include_merged`)."""
        row = await self.fetchrow(
            f"SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND id = $2"
            + ("" if include_merged else " AND merged_into_id IS NULL")
            + _visibility(3)
            + (" FOR UPDATE" if for_update else ""),
            lead_id,
            visible_to,
        )
        return LeadRow.of(row) if row is not None else None

    async def update(self, lead_id: UUID, columns: Mapping[str, Any]) -> LeadRow:
        """Set `columns`, bump the version and `updated_at`."""
        names = [name for name in columns if name in WRITABLE]
        assignments = ", ".join(f"{n} = ${i + 3}::{WRITABLE[n]}" for i, n in enumerate(names))
        row = await self.fetchrow_one(
            "UPDATE leads SET "
            + (assignments + ", " if assignments else "")
            + "version = version + 1, updated_at = now(), last_activity_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {LEAD_COLUMNS}",
            lead_id,
            *(_encode(n, columns[n]) for n in names),
        )
        return LeadRow.of(row)

    async def set_deleted(self, lead_id: UUID, *, deleted: bool) -> LeadRow:
        row = await self.fetchrow_one(
            "UPDATE leads SET deleted_at = CASE WHEN $3 THEN now() END,"
            " version = version + 1, updated_at = now(), last_activity_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {LEAD_COLUMNS}",
            lead_id,
            deleted,
        )
        return LeadRow.of(row)

    async def touch(self, lead_id: UUID) -> None:
        """A note or an event on the lead: its last activity is now (no new version)."""
        await self.execute(
            "UPDATE leads SET last_activity_at = now() WHERE tenant_id = $1 AND id = $2", lead_id
        )

    async def count_for_quota(self) -> int:
        """Leads that count against `maxLeads`: live ones and the trash (until purged)."""
        return int(
            await self.fetchval(
                "SELECT count(*) FROM leads WHERE tenant_id = $1 AND merged_into_id IS NULL"
            )
        )

    async def lock_quota(self) -> None:
        """Serialize lead creation of this tenant for the rest of the transaction, so that two
        writers near the limit cannot both pass the count (taken only under a limited plan)."""
        await self.tx.raw.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 7013))", self.tenant_id
        )

    async def look_alikes(
        self, *, name_key: str, city: str | None, exclude: UUID | None, limit: int = 10
    ) -> list[LookAlike]:
        """Live leads with the same name key in the same city (either city unknown counts)."""
        rows = await self.fetch(
            "SELECT id, name FROM leads WHERE tenant_id = $1 AND name_key = $2 AND "
            + LIVE
            + " AND ($3::text IS NULL OR city IS NULL OR lower(city) = lower($3))"
            " AND ($4::uuid IS NULL OR id <> $4) ORDER BY created_at, id LIMIT $5",
            name_key,
            city,
            exclude,
            limit,
        )
        return [LookAlike(**row) for row in rows]


class LeadKeys(TenantRepository):
    async def claim(self, lead_id: UUID, keys: Sequence[Key]) -> list[Key]:
        """Give `keys` to the lead; the ones another lead already holds are returned (none
        taken). Concurrent claimants of one key wait on its row: one wins, the others see it."""
        if not keys:
            return []
        rows = await self.fetch(
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " SELECT $1, k.kind::lead_key_kind, k.value, $2"
            " FROM unnest($3::text[], $4::text[]) AS k(kind, value)"
            " ON CONFLICT (tenant_id, kind, value) DO NOTHING RETURNING kind, value",
            lead_id,
            [k.kind.value for k in keys],
            [k.value for k in keys],
        )
        taken = {(r["kind"], r["value"]) for r in rows}
        return [k for k in keys if (k.kind.value, k.value) not in taken]

    async def owners(self, keys: Iterable[Key], *, exclude: UUID | None = None) -> list[KeyOwner]:
        keys = list(keys)
        if not keys:
            return []
        rows = await self.fetch(
            "SELECT k.kind, k.value, l.id AS lead_id, l.name, l.deleted_at IS NOT NULL AS deleted"
            " FROM lead_keys k JOIN leads l ON l.tenant_id = k.tenant_id AND l.id = k.lead_id"
            " WHERE k.tenant_id = $1 AND (k.kind::text, k.value) IN"
            " (SELECT * FROM unnest($2::text[], $3::text[]))"
            " AND ($4::uuid IS NULL OR k.lead_id <> $4) ORDER BY k.kind, k.value",
            [k.kind.value for k in keys],
            [k.value for k in keys],
            exclude,
        )
        return [KeyOwner(**{**r, "kind": LeadKeyKind(r["kind"])}) for r in rows]

    async def release(self, lead_id: UUID, keys: Sequence[Key]) -> None:
        if not keys:
            return
        await self.execute(
            "DELETE FROM lead_keys WHERE tenant_id = $1 AND lead_id = $2 AND (kind::text, value)"
            " IN (SELECT * FROM unnest($3::text[], $4::text[]))",
            lead_id,
            [k.kind.value for k in keys],
            [k.value for k in keys],
        )

    async def of_lead(self, lead_id: UUID) -> list[Key]:
        rows = await self.fetch(
            "SELECT kind, value FROM lead_keys WHERE tenant_id = $1 AND lead_id = $2"
            " ORDER BY kind, value",
            lead_id,
        )
        return [Key(LeadKeyKind(r["kind"]), r["value"]) for r in rows]


ACTIVITY_COLUMNS = "id, lead_id, type, actor_user_id, actor_agent_id, body, details, created_at"


class Activities(TenantRepository):
    async def add(
        self,
        lead_id: UUID,
        activity: ActivityType,
        *,
        actor_user_id: UUID | None,
        actor_agent_id: UUID | None = None,
        body: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ActivityRow:
        row = await self.fetchrow_one(
            "INSERT INTO lead_activities"
            " (tenant_id, lead_id, type, actor_user_id, actor_agent_id, body, details)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING {ACTIVITY_COLUMNS}",
            lead_id,
            activity.value,
            actor_user_id,
            actor_agent_id,
            body,
            json.dumps(dict(details or {}), ensure_ascii=False, default=str),
        )
        return ActivityRow.of(row)

    async def page(
        self, lead_id: UUID, *, limit: int, before: tuple[datetime, UUID] | None
    ) -> list[ActivityRow]:
        """Newest first; `before` is the (created_at, id) of the last row already seen."""
        rows = await self.fetch(
            f"SELECT {ACTIVITY_COLUMNS} FROM lead_activities WHERE tenant_id = $1"
            " AND lead_id = $2"
            " AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))"
            " ORDER BY created_at DESC, id DESC LIMIT $5",
            lead_id,
            before[0] if before else None,
            before[1] if before else None,
            limit + 1,
        )
        return [ActivityRow.of(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Search: GET /v1/leads, /count, a list's leads, exports (docs/search.md)


@dataclass(frozen=True, slots=True)
class LeadConditions:
    """One filter, already normalized by the service; every field that is set applies (AND).

    `patterns` are LIKE patterns (escaped, with their `%`), any of which `search_text` must
    match; `tags` must all be on the lead, compared lower-cased; `never` matches no lead (a
    saved filter naming a list that is gone)."""

    patterns: tuple[str, ...] = ()
    statuses: tuple[LeadStatus, ...] = ()
    owner_id: UUID | None = None
    unassigned: bool | None = None
    tags: tuple[str, ...] = ()
    city: str | None = None
    country: str | None = None
    category: str | None = None
    source: LeadSource | None = None
    has_phone: bool | None = None
    has_email: bool | None = None
    do_not_contact: bool | None = None
    member_of: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    never: bool = False


@dataclass(frozen=True, slots=True)
class LeadQuerySpec:
    """What a search reads: live leads (or the trash) meeting every one of `conditions`, and
    only the ones `visible_to` may see when it is set (SALES visibility, RLS's twin)."""

    conditions: tuple[LeadConditions, ...]
    deleted: bool = False
    visible_to: UUID | None = None


@dataclass(frozen=True, slots=True)
class KeysetAfter:
    """The last row of the previous page: its sort key (None: a NULL rating) and id."""

    key: Any
    id: UUID


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A lead found, with the value of the column it was sorted on (the next cursor's key)."""

    lead: LeadRow
    sort_key: Any


@dataclass(frozen=True, slots=True)
class ListRef:
    id: UUID
    kind: str
    filter: dict[str, Any] | None


# The sortable columns, each with its parameter cast; each has an index (tenant_id, column, id).
SORT_COLUMNS: dict[str, str] = {
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "last_activity_at": "timestamptz",
    "name_sort": "text",
    "rating": "float8",
}
NULLABLE_SORT_COLUMNS = frozenset({"rating"})


class _Params:
    """Numbered parameters after the tenant's `$1`: values never enter the SQL text."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values) + 1}::{cast}"


def _condition_sql(c: LeadConditions, p: _Params) -> list[str]:  # noqa: C901, PLR0912 - one line per filter
    if c.never:
        return ["FALSE"]
    sql: list[str] = []
    if c.patterns:
        # COALESCE is the planner's view, not the logic (search_text is NOT NULL). The request
        # role's LIKE is not leakproof, so under RLS the trigram index cannot serve it and the
        # planner may not read the column's statistics: it guesses a few rows and reads the
        # whole tenant to sort them, even for a q that every tenth lead matches. Wrapped, the
        # guess is one row in two and the plan walks the sort's index until the page is full.
        sql.append(f"COALESCE(search_text LIKE ANY ({p(list(c.patterns), 'text[]')}), false)")
    if c.statuses:
        sql.append(f"status = ANY ({p([s.value for s in c.statuses], 'lead_status[]')})")
    if c.owner_id is not None:
        sql.append(f"owner_id = {p(c.owner_id, 'uuid')}")
    if c.unassigned is not None:
        sql.append("owner_id IS NULL" if c.unassigned else "owner_id IS NOT NULL")
    if c.tags:
        # Tags are stored as typed; compared lower-cased on both sides, in SQL.
        sql.append(
            "ARRAY(SELECT lower(t) FROM unnest(tags) AS t)"
            f" @> ARRAY(SELECT lower(x) FROM unnest({p(list(c.tags), 'text[]')}) AS x)"
        )
    if c.city is not None:
        sql.append(f"lower(city) = lower({p(c.city, 'text')})")
    if c.country is not None:
        sql.append(f"country = {p(c.country, 'text')}")
    if c.category is not None:
        sql.append(f"lower(category) = lower({p(c.category, 'text')})")
    if c.source is not None:
        sql.append(f"source_type = {p(c.source.value, 'lead_source')}")
    for column, wanted in (("phones", c.has_phone), ("emails", c.has_email)):
        if wanted is not None:
            sql.append(f"cardinality({column}) {'>' if wanted else '='} 0")
    if c.do_not_contact is not None:
        sql.append(f"do_not_contact = {p(c.do_not_contact, 'bool')}")
    if c.member_of is not None:
        sql.append(
            "EXISTS (SELECT 1 FROM list_members m WHERE m.tenant_id = leads.tenant_id"
            f" AND m.list_id = {p(c.member_of, 'uuid')} AND m.lead_id = leads.id)"
        )
    if c.created_from is not None:
        sql.append(f"created_at >= {p(c.created_from, 'timestamptz')}")
    if c.created_to is not None:
        sql.append(f"created_at < {p(c.created_to, 'timestamptz')}")
    return sql


def _where(spec: LeadQuerySpec, p: _Params) -> str:
    parts = [
        "tenant_id = $1",
        "deleted_at IS NOT NULL AND merged_into_id IS NULL" if spec.deleted else LIVE,
    ]
    if spec.visible_to is not None:
        uid = p(spec.visible_to, "uuid")
        parts.append(f"(owner_id IS NULL OR owner_id = {uid})")
    for conditions in spec.conditions:
        parts.extend(_condition_sql(conditions, p))
    return " AND ".join(parts)


def page_sql(
    spec: LeadQuerySpec,
    *,
    column: str,
    descending: bool,
    nulls: bool,
    after: KeysetAfter | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """One keyset segment: the rows after `after` in (column, id) order, `column` non-NULL —
    or, with `nulls`, the rows whose `column` is NULL in id order (a nullable sort's tail).
    Both walk the index (tenant_id, column, id) in its order (backwards when descending)."""
    cast = SORT_COLUMNS[column]  # a KeyError here is a programming error, never user input
    p = _Params()
    where = _where(spec, p)
    direction = "DESC" if descending else "ASC"
    after_op = "<" if descending else ">"
    if nulls:
        where += f" AND {column} IS NULL"
        if after is not None:
            where += f" AND id {after_op} {p(after.id, 'uuid')}"
        order = f"id {direction}"
    else:
        if column in NULLABLE_SORT_COLUMNS:
            where += f" AND {column} IS NOT NULL"
        if after is not None:
            key, row_id = p(after.key, cast), p(after.id, "uuid")
            where += f" AND ({column}, id) {after_op} ({key}, {row_id})"
        order = f"{column} {direction}, id {direction}"
    sql = (
        f"SELECT {LEAD_COLUMNS}, {column} AS sort_key FROM leads WHERE {where}"
        f" ORDER BY {order} LIMIT {p(limit, 'int4')}"
    )
    return sql, p.values


def count_sql(spec: LeadQuerySpec) -> tuple[str, list[Any]]:
    p = _Params()
    return f"SELECT count(*) FROM leads WHERE {_where(spec, p)}", p.values


class LeadSearch(TenantRepository):
    async def page(
        self,
        spec: LeadQuerySpec,
        *,
        column: str,
        descending: bool,
        after: KeysetAfter | None,
        limit: int,
    ) -> list[SearchHit]:
        """Up to `limit` rows after `after`, in (column, id) order, NULL keys last. A nullable
        column is read in two segments (non-NULL keys, then NULL ones by id), each a plain walk
        of its index: no OR in the keyset condition, no sort of the whole match."""
        rows: list[asyncpg.Record] = []
        in_null_tail = after is not None and after.key is None
        if not in_null_tail:
            sql, args = page_sql(
                spec, column=column, descending=descending, nulls=False, after=after, limit=limit
            )
            rows.extend(await self.fetch(sql, *args))
        if column in NULLABLE_SORT_COLUMNS and len(rows) < limit:
            sql, args = page_sql(
                spec,
                column=column,
                descending=descending,
                nulls=True,
                after=after if in_null_tail else None,
                limit=limit - len(rows),
            )
            rows.extend(await self.fetch(sql, *args))
        hits = []
        for row in rows:
            fields = dict(row)
            key = fields.pop("sort_key")
            hits.append(SearchHit(lead=LeadRow.of(fields), sort_key=key))
        return hits

    async def count(self, spec: LeadQuerySpec) -> int:
        sql, args = count_sql(spec)
        return int(await self.fetchval(sql, *args))

    async def list_ref(self, list_id: UUID) -> ListRef | None:
        """A list's kind and saved filter (a search's `listId`)."""
        row = await self.fetchrow(
            "SELECT id, kind::text AS kind, filter FROM lists WHERE tenant_id = $1 AND id = $2",
            list_id,
        )
        return ListRef(**row) if row is not None else None
