"""SQL of leads, their keys and their timeline. Every statement is scoped to the tenant (`$1`).

`visible_to` (a user id, or None) narrows reads and writes to the leads that user owns and the
unassigned ones: the code's half of the SALES visibility rule (row-level security is the
other half, migration 20261201_1400).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Self
from uuid import UUID

import asyncpg

from leedz.audit.repository import AuditEntry
from leedz.audit.repository import insert_sql as audit_insert_sql
from leedz.evidence.models import Confidence
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository
from leedz.leads.models import ActivityType, LeadKeyKind, LeadSource, LeadStatus
from leedz.leads.record import DERIVED, Key
from leedz.plans.repository import PlanLimitsRow
from leedz.tenants.repository import SETTINGS_AND_PLAN_SQL, TenantSettings, settings_and_plan_of

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


# What every read of a lead selects: LeadRow's fields, in order.
LEAD_COLUMNS = ", ".join(f.name for f in fields(LeadRow))


@dataclass(frozen=True, slots=True)
class StoredLead:
    """A lead as stored: its row, its derived columns (`DERIVED`) and the keys it holds."""

    row: LeadRow
    derived: dict[str, Any]
    held: list[Key]


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """A key already held, and the lead holding it."""

    kind: LeadKeyKind
    value: str
    lead_id: UUID
    name: str | None  # None: a lead the transaction may not see (SALES visibility)
    deleted: bool


@dataclass(frozen=True, slots=True)
class LookAlike:
    id: UUID
    name: str


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """A timeline entry to write."""

    type: ActivityType
    actor_user_id: UUID | None
    actor_agent_id: UUID | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Created:
    """A lead just inserted (`Leads.create`), the keys it could not claim, its look-alikes."""

    row: LeadRow
    lost: list[Key]
    look_alikes: list[LookAlike]


@dataclass(frozen=True, slots=True)
class Limited:
    """A creation not made (`Leads.create_unless_limited`): the tenant's plan limits its leads.
    The tenant's settings and plan, as the statement read them."""

    settings: TenantSettings
    plan: PlanLimitsRow


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


def _activity_args(activity: ActivityEntry) -> list[Any]:
    """An entry's type, actors and details, as `::lead_activity_type, ::uuid, ::uuid, ::jsonb`."""
    return [
        activity.type.value,
        activity.actor_user_id,
        activity.actor_agent_id,
        json.dumps(dict(activity.details), ensure_ascii=False, default=str),
    ]


def _visibility(param: int) -> str:
    return f" AND (${param}::uuid IS NULL OR owner_id IS NULL OR owner_id = ${param}::uuid)"


# The columns `SETTINGS_AND_PLAN_SQL` selects (a guarded creation's `tenant` CTE).
_TENANT_FIELDS = (
    "default_country", "timezone", "sales_see_all_leads", "language",
    "plan_name", "max_users", "max_leads", "max_searches", "max_messages",
)  # fmt: skip


def same_city(city: str, alias: str = "") -> str:
    """A lead (`alias`, e.g. `l.`) in the known city that the SQL expression `city` gives, or of
    no city: its compared form (`city_key`, trimmed and in lower case) equal, or none. Both
    halves are leakproof, so under row-level security `(tenant_id, name_key, city_key)` answers
    each with index conditions (migration 20261202_0900); `lower(city) = …` was a filter on
    every lead of the name. `city` must not be NULL: for a city unknown, leave the city out."""
    return f" AND ({alias}city_key = lower(btrim({city})) OR {alias}city_key IS NULL)"


@lru_cache(maxsize=128)
def _create_sql(names: tuple[str, ...], *, guard: bool, city: bool) -> str:
    """`Leads.create`'s statement for these columns (built once per set of columns). With
    `guard`, it reads the tenant's settings and plan first (`tenant`), inserts only if the
    plan does not limit leads, and answers the tenant's row joined to the lead's (NULL when
    nothing was inserted). `city`: whether the lead has one (its look-alikes are then the
    leads of its name in its city or of no city; else of its name in any city)."""
    n = len(names)
    placeholders = ", ".join(f"${i + 2}::{WRITABLE[c]}" for i, c in enumerate(names))
    p = [f"${n + 2 + i}" for i in range(8)]  # keys, timeline, look-alikes
    city_param = n + 10 + len(fields(AuditEntry))  # after the audit row's (AuditEntry.args)
    insert = f"INSERT INTO leads (tenant_id, {', '.join(names)})"
    if guard:
        insert += (
            f" SELECT $1, {placeholders}"
            " WHERE EXISTS (SELECT 1 FROM tenant WHERE tenant.max_leads IS NULL)"
        )
    else:
        insert += f" VALUES ($1, {placeholders})"
    return (
        "WITH "
        + (f"tenant AS ({SETTINGS_AND_PLAN_SQL})," if guard else "")
        + f" lead AS ({insert} RETURNING {LEAD_COLUMNS}),"
        " claimed AS (INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
        " SELECT $1, k.kind::lead_key_kind, k.value, lead.id"
        f" FROM lead, unnest({p[0]}::text[], {p[1]}::text[]) AS k(kind, value)"
        " ON CONFLICT (tenant_id, kind, value) DO NOTHING RETURNING kind::text, value),"
        " entry AS (INSERT INTO lead_activities"
        " (tenant_id, lead_id, type, actor_user_id, actor_agent_id, details)"
        f" SELECT $1, lead.id, {p[2]}::lead_activity_type, {p[3]}::uuid, {p[4]}::uuid,"
        f" {p[5]}::jsonb FROM lead),"
        f" audited AS ({audit_insert_sql(n + 10, entity_id='lead.id::text', source='lead')})"
        + (" SELECT tenant.*, lead.*," if guard else " SELECT lead.*,")
        + " ARRAY(SELECT c.kind || ':' || c.value FROM claimed c) AS claimed,"
        " ARRAY(SELECT ARRAY[l.id::text, l.name] FROM leads l"
        f" WHERE lead.id IS NOT NULL AND l.tenant_id = $1 AND {p[6]}::text IS NOT NULL"
        f" AND l.name_key = {p[6]} AND l.{LIVE.replace(' AND ', ' AND l.')}"
        + (same_city(f"${city_param}::text", "l.") if city else "")
        + f" ORDER BY l.created_at, l.id LIMIT {p[7]}::int4) AS look_alikes"
        + (" FROM tenant LEFT JOIN lead ON true" if guard else " FROM lead")
    )


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

    async def create(
        self,
        columns: Mapping[str, Any],
        keys: Sequence[Key],
        *,
        activity: ActivityEntry,
        audit: AuditEntry,
        look_alikes: int = 10,
    ) -> Created:
        """Insert the lead, claim its keys, write its timeline entry and its audit row, and
        find its look-alikes (live leads of the same name key in the same city, either city
        unknown counting), in one statement. The keys another lead holds are returned (as
        `claim` does): the caller then rolls the transaction back."""
        created = await self._create(
            columns, keys, activity=activity, audit=audit, look_alikes=look_alikes, guard=False
        )
        if not isinstance(created, Created):
            raise TypeError("an unguarded creation always inserts")
        return created

    async def create_unless_limited(
        self,
        columns: Mapping[str, Any],
        keys: Sequence[Key],
        *,
        activity: ActivityEntry,
        audit: AuditEntry,
        look_alikes: int = 10,
    ) -> Created | Limited:
        """`create`, in the same statement as the read of the tenant's settings and plan, and
        only if the plan does not limit its leads (`maxLeads` none): else nothing is written
        and the settings and plan are returned (`Limited`), for the caller to count the
        tenant's leads under its lock (`count_for_quota`) before `create`."""
        return await self._create(
            columns, keys, activity=activity, audit=audit, look_alikes=look_alikes, guard=True
        )

    async def _create(
        self,
        columns: Mapping[str, Any],
        keys: Sequence[Key],
        *,
        activity: ActivityEntry,
        audit: AuditEntry,
        look_alikes: int,
        guard: bool,
    ) -> Created | Limited:
        names = tuple(name for name in columns if name in WRITABLE)
        city = columns.get("city") is not None
        row = await self.fetchrow(
            _create_sql(names, guard=guard, city=city),
            *(_encode(c, columns[c]) for c in names),
            [k.kind.value for k in keys],
            [k.value for k in keys],
            *_activity_args(activity),
            columns.get("name_key") or None,  # a name of punctuation alone looks like no other
            look_alikes,
            *audit.args(),
            *([columns["city"]] if city else []),
        )
        if row is None:
            raise LookupError("the tenant of the transaction is not found")
        fields = dict(row)
        if guard:
            tenant = {name: fields.pop(name) for name in _TENANT_FIELDS}
            if fields["id"] is None:
                return Limited(*settings_and_plan_of(tenant))
        claimed = set(fields.pop("claimed"))
        found = fields.pop("look_alikes")
        return Created(
            row=LeadRow.of(fields),
            lost=[k for k in keys if f"{k.kind.value}:{k.value}" not in claimed],
            look_alikes=[LookAlike(id=UUID(i), name=name) for i, name in found],
        )

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

    async def update(
        self, lead_id: UUID, columns: Mapping[str, Any], *, activity: bool = True
    ) -> LeadRow:
        """Set `columns`, bump the version and `updated_at`; and `last_activity_at`, unless the
        write is no one's activity (`activity=False`: the stored values re-normalized)."""
        names = [name for name in columns if name in WRITABLE]
        assignments = ", ".join(f"{n} = ${i + 3}::{WRITABLE[n]}" for i, n in enumerate(names))
        row = await self.fetchrow_one(
            "UPDATE leads SET "
            + (assignments + ", " if assignments else "")
            + "version = version + 1, updated_at = now()"
            + (", last_activity_at = now()" if activity else "")
            + f" WHERE tenant_id = $1 AND id = $2 RETURNING {LEAD_COLUMNS}",
            lead_id,
            *(_encode(n, columns[n]) for n in names),
        )
        return LeadRow.of(row)

    async def unassign(
        self, owner_id: UUID, *, activity: ActivityEntry, audit: AuditEntry
    ) -> list[LeadRow]:
        """Every lead `owner_id` owns (live or in the trash; not those folded into another)
        unassigned, each a new version with `activity` on its timeline and `audit` in the log,
        in one statement."""
        rows = await self.fetch(
            "WITH unassigned AS (UPDATE leads SET owner_id = NULL, version = version + 1,"
            " updated_at = now(), last_activity_at = now()"
            " WHERE tenant_id = $1 AND owner_id = $2 AND merged_into_id IS NULL"
            f" RETURNING {LEAD_COLUMNS}),"
            " entry AS (INSERT INTO lead_activities"
            " (tenant_id, lead_id, type, actor_user_id, actor_agent_id, details)"
            " SELECT $1, u.id, $3::lead_activity_type, $4::uuid, $5::uuid, $6::jsonb"
            " FROM unassigned u),"
            f" audited AS ({audit_insert_sql(7, entity_id='u.id::text', source='unassigned u')})"
            " SELECT * FROM unassigned ORDER BY created_at, id",
            owner_id,
            *_activity_args(activity),
            *audit.args(),
        )
        return [LeadRow.of(r) for r in rows]

    async def stored_after(
        self, after: UUID | None, *, limit: int, for_update: bool
    ) -> list[StoredLead]:
        """The next `limit` leads by id after `after` (live or in the trash, not those folded
        into another), each with its derived columns and the keys it holds."""
        rows = await self.fetch(
            f"SELECT {LEAD_COLUMNS}, {', '.join(DERIVED)},"
            " coalesce((SELECT array_agg(k.kind::text || ':' || k.value ORDER BY k.kind, k.value)"
            " FROM lead_keys k WHERE k.tenant_id = leads.tenant_id AND k.lead_id = leads.id),"
            " '{}') AS held"
            " FROM leads WHERE tenant_id = $1 AND merged_into_id IS NULL"
            " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
            + (" FOR UPDATE" if for_update else ""),
            after,
            limit,
        )
        stored: list[StoredLead] = []
        for r in rows:
            values = dict(r)
            derived = {name: values.pop(name) for name in DERIVED}
            held = [
                Key(LeadKeyKind(kind), value)
                for kind, value in (k.split(":", 1) for k in values.pop("held"))
            ]
            stored.append(StoredLead(LeadRow.of(values), derived, held))
        return stored

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

    async def count_for_quota(self, *, serialize: bool) -> int:
        """Leads that count against `maxLeads`: live ones and the trash (until purged), all of
        the tenant's — those the SALES rule hides from this transaction's user too
        (leedz_quota_leads, migration 20261201_1850, counts as its owner). `serialize` first
        takes the tenant's lead-creation lock, held to the end of the transaction, so that two
        writers near the limit cannot both pass the count: the count, a statement of its own
        inside the function, sees every creation committed before the lock was granted."""
        row = await self.fetchrow_one(
            "SELECT q.leads FROM leedz_quota_leads($2::bool) q WHERE q.tenant_id = $1", serialize
        )
        return int(row["leads"])


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
            # LEFT JOIN: a key of a lead hidden from this user (SALES visibility) is still
            # taken; its holder is named without its name.
            "SELECT k.kind, k.value, k.lead_id, l.name,"
            " coalesce(l.deleted_at IS NOT NULL, false) AS deleted"
            " FROM lead_keys k LEFT JOIN leads l ON l.tenant_id = k.tenant_id AND l.id = k.lead_id"
            " WHERE k.tenant_id = $1 AND (k.kind::text, k.value) IN"
            " (SELECT * FROM unnest($2::text[], $3::text[]))"
            # The leakproof half, for the (tenant_id, value) index under RLS.
            " AND k.value = ANY($3::text[])"
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
            " IN (SELECT * FROM unnest($3::text[], $4::text[])) AND value = ANY($4::text[])",
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

    async def add_many(
        self,
        lead_ids: Sequence[UUID],
        activity: ActivityType,
        *,
        actor_user_id: UUID | None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """The same entry on each lead's timeline, in one statement (a bulk action's)."""
        if not lead_ids:
            return 0
        status = await self.execute(
            "INSERT INTO lead_activities (tenant_id, lead_id, type, actor_user_id, details)"
            " SELECT $1, unnest($2::uuid[]), $3, $4, $5::jsonb",
            list(lead_ids),
            activity.value,
            actor_user_id,
            json.dumps(dict(details or {}), ensure_ascii=False, default=str),
        )
        return int(status.rsplit(" ", 1)[-1])

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
    # Only these leads (the trigram index's answer for a rare q); None: any.
    among: tuple[UUID, ...] | None = None


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


def _indexed_sql(c: LeadConditions, p: _Params) -> list[str]:  # noqa: C901 - a line per filter
    """The conditions the planner estimates from statistics (leakproof comparisons of plain
    columns, so row-level security lets it look), some served by an index."""
    if c.never:
        return ["FALSE"]
    sql: list[str] = []
    if c.statuses:
        sql.append(f"status = ANY ({p([s.value for s in c.statuses], 'lead_status[]')})")
    if c.owner_id is not None:
        sql.append(f"owner_id = {p(c.owner_id, 'uuid')}")
    if c.unassigned is not None:
        sql.append("owner_id IS NULL" if c.unassigned else "owner_id IS NOT NULL")
    if c.country is not None:
        sql.append(f"country = {p(c.country, 'text')}")
    if c.source is not None:
        sql.append(f"source_type = {p(c.source.value, 'lead_source')}")
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


def _opaque_sql(c: LeadConditions, p: _Params) -> list[str]:
    """The conditions the planner can only guess at: under RLS it may not read statistics
    for a function that is not leakproof (LIKE, lower, @>, cardinality), and its guesses for
    LIKE are a few rows, however common q is. No index serves them for the request role."""
    if c.never:
        return []
    sql: list[str] = []
    if c.patterns:
        sql.append(f"search_text LIKE ANY ({p(list(c.patterns), 'text[]')})")
    if c.tags:
        # Tags are stored as typed; compared lower-cased on both sides, in SQL.
        sql.append(
            "ARRAY(SELECT lower(t) FROM unnest(tags) AS t)"
            f" @> ARRAY(SELECT lower(x) FROM unnest({p(list(c.tags), 'text[]')}) AS x)"
        )
    if c.city is not None:
        sql.append(f"lower(city) = lower({p(c.city, 'text')})")
    if c.category is not None:
        sql.append(f"lower(category) = lower({p(c.category, 'text')})")
    for column, wanted in (("phones", c.has_phone), ("emails", c.has_email)):
        if wanted is not None:
            sql.append(f"cardinality({column}) {'>' if wanted else '='} 0")
    return sql


def _where(spec: LeadQuerySpec, p: _Params, *, opaque: bool = True) -> str:
    parts = [
        "tenant_id = $1",
        "deleted_at IS NOT NULL AND merged_into_id IS NULL" if spec.deleted else LIVE,
    ]
    if spec.visible_to is not None:
        uid = p(spec.visible_to, "uuid")
        parts.append(f"(owner_id IS NULL OR owner_id = {uid})")
    if spec.among is not None:
        parts.append(f"id = ANY ({p(list(spec.among), 'uuid[]')})")
    for conditions in spec.conditions:
        parts.extend(_indexed_sql(conditions, p))
        if opaque:
            parts.extend(_opaque_sql(conditions, p))
    return " AND ".join(parts)


def _has_opaque(spec: LeadQuerySpec) -> bool:
    return any(_opaque_sql(c, _Params()) for c in spec.conditions)


def _segment(
    column: str, descending: bool, nulls: bool, after: KeysetAfter | None, p: _Params
) -> tuple[str, str]:
    """(condition, ORDER BY) of one keyset segment: the rows after `after` in (column, id)
    order, `column` non-NULL; or, with `nulls`, those whose `column` is NULL, in id order (a
    nullable sort's tail). Both are a walk of the index (tenant_id, column, id), backwards
    when descending; the row comparison is its index condition."""
    cast = SORT_COLUMNS[column]  # a KeyError here is a programming error, never user input
    direction = "DESC" if descending else "ASC"
    after_op = "<" if descending else ">"
    if nulls:
        where = f" AND {column} IS NULL"
        if after is not None:
            where += f" AND id {after_op} {p(after.id, 'uuid')}"
        return where, f"id {direction}"
    where = f" AND {column} IS NOT NULL" if column in NULLABLE_SORT_COLUMNS else ""
    if after is not None:
        key, row_id = p(after.key, cast), p(after.id, "uuid")
        where += f" AND ({column}, id) {after_op} ({key}, {row_id})"
    return where, f"{column} {direction}, id {direction}"


def page_sql(
    spec: LeadQuerySpec,
    *,
    column: str,
    descending: bool,
    nulls: bool,
    after: KeysetAfter | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The first `limit` leads of a segment meeting every condition, with their sort key."""
    p = _Params()
    where = _where(spec, p)
    segment, order = _segment(column, descending, nulls, after, p)
    sql = (
        f"SELECT {LEAD_COLUMNS}, {column} AS sort_key FROM leads WHERE {where}{segment}"
        f" ORDER BY {order} LIMIT {p(limit, 'int4')}"
    )
    return sql, p.values


def walk_sql(
    spec: LeadQuerySpec,
    *,
    column: str,
    descending: bool,
    nulls: bool,
    after: KeysetAfter | None,
    rows: int,
    wanted: int,
) -> tuple[str, list[Any]]:
    """The next `rows` leads of a segment that meet the indexed conditions, in the sort's
    order (a walk of its index), told apart by whether they meet the others (`hit`): the
    first `wanted` hits, then the last lead walked (`hit` false) to go on from."""
    p = _Params()
    where = _where(spec, p, opaque=False)
    segment, order = _segment(column, descending, nulls, after, p)
    opaque = " AND ".join(part for c in spec.conditions for part in _opaque_sql(c, p))
    sql = (
        "WITH walk AS MATERIALIZED ("
        f" SELECT id, {column} AS sort_key, COALESCE({opaque}, false) AS hit,"
        f" row_number() OVER (ORDER BY {order}) AS n"
        f" FROM leads WHERE {where}{segment} ORDER BY {order} LIMIT {p(rows, 'int4')})"
        f" (SELECT id, sort_key, n, true AS hit FROM walk WHERE hit ORDER BY n"
        f" LIMIT {p(wanted, 'int4')})"
        " UNION ALL (SELECT id, sort_key, n, false FROM walk ORDER BY n DESC LIMIT 1)"
    )
    return sql, p.values


def scan_sql(
    spec: LeadQuerySpec,
    *,
    column: str,
    descending: bool,
    nulls: bool,
    after: KeysetAfter | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The ids of the first `limit` leads of a segment meeting every condition, found by
    reading every candidate (in the table's order: a bitmap scan, not a walk of the sort's
    index in random order) and sorting the few that match. For matches a walk found rare."""
    p = _Params()
    where = _where(spec, p)
    segment, _ = _segment(column, descending, nulls, after, p)
    direction = "DESC" if descending else "ASC"
    outer = f"id {direction}" if nulls else f"sort_key {direction}, id {direction}"
    sql = (
        f"WITH found AS MATERIALIZED (SELECT id, {column} AS sort_key FROM leads"
        f" WHERE {where}{segment})"
        f" SELECT id FROM found ORDER BY {outer} LIMIT {p(limit, 'int4')}"
    )
    return sql, p.values


def where_sql(spec: LeadQuerySpec) -> tuple[str, list[Any]]:
    """The condition of `spec` (trash or live, visibility, `among`, every filter) and its
    parameters, numbered from `$2` (`$1` is the tenant): for a feature's own statement over a
    search's leads (bulk actions)."""
    p = _Params()
    return _where(spec, p), p.values


def count_sql(spec: LeadQuerySpec) -> tuple[str, list[Any]]:
    p = _Params()
    return f"SELECT count(*) FROM leads WHERE {_where(spec, p)}", p.values


# An adaptive walk (LeadSearch._walk): the first step reads this many leads per lead wanted
# (bounded), and walking stops once the leads still wanted would take more than WALK_MAX_ROWS
# at the hit rate seen so far; the rest is found by reading every candidate and sorting
# (scan_sql).
WALK_ROWS_PER_WANTED = 20
WALK_FIRST_ROWS = (1_000, 10_000)
WALK_MAX_ROWS = 25_000

# The trigram index (leedz_search_lead_ids, migration 20261201_1700) names the leads a q can
# match, and reading them by id costs a few µs each (docs/search.md). A q the index can answer
# is walked WALK_INDEXED_ROWS leads at most before the index is asked for up to
# INDEX_PROBE_IDS of them (a few ms at most); more, and the q is common after all: the walk goes
# on as far as ever. Should it still fall short (matches common overall but rare in this
# sort's first leads), the index is asked again for up to INDEX_MAX_IDS before the scan reads
# every candidate; a count asks for that many at once.
WALK_INDEXED_ROWS = 10_000
INDEX_PROBE_IDS = 2_000
INDEX_MAX_IDS = 10_000


def like_has_trigram(pattern: str) -> bool:
    """Whether pg_trgm finds a trigram in the LIKE `pattern` to look up in its index: a word (a
    run of letters and digits, escaped characters literal) that, padded on each side that is
    not a wildcard (two spaces before, one after, as pg_trgm pads), is 3 characters or more.
    Without one, the index could only be read whole, which is slower than reading the tenant.
    (Letters and digits as Python sees them; pg_trgm asks the database's LC_CTYPE, which agrees
    for every locale but C, where no Arabic letter is one: docs/search.md.)"""
    chars = _like_tokens(pattern)
    i = 0
    while i < len(chars):
        if chars[i][1] or not chars[i][0].isalnum():
            i += 1
            continue
        end = i
        while end < len(chars) and not chars[end][1] and chars[end][0].isalnum():
            end += 1
        padded = end - i + (0 if i > 0 and chars[i - 1][1] else 2)
        padded += 0 if end < len(chars) and chars[end][1] else 1
        if padded >= 3:  # a trigram
            return True
        i = end
    return False


def _like_tokens(pattern: str) -> list[tuple[str, bool]]:
    """A LIKE pattern's characters, each with whether it is a wildcard (`%`, `_`); an escaped
    character is a literal."""
    chars: list[tuple[str, bool]] = []
    escaped = False
    for ch in pattern:
        if escaped:
            chars.append((ch, False))
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            chars.append((ch, ch in "%_"))
    return chars


def _long_word(word: str) -> bool:
    """A word whose own trigrams narrow the index's answer: 3 characters or more, not only
    digits (pg_trgm pads a digit word's start and end as well, and those trigrams are rare:
    a phone's digits are one word, so `  1` begins few words)."""
    return len(word) >= 3 and not word.isdigit()


def index_probe(pattern: str) -> str:
    """What to ask the trigram index for a LIKE `pattern`: the pattern with `%` in place of
    each run of literal characters that are neither letters nor digits (spaces, punctuation)
    between two words of three letters or more (or such a word and a wildcard):
    `%info@alnoor%` → `%info%alnoor%`. It matches every text the pattern matches (a `%`
    matches what it stands in for) and leaves out the trigrams pg_trgm pads a word with where
    it meets such a character (`fo `, `  a`, ` al`): the start or the end of a word, the
    longest posting lists of the index, which the word's own trigrams make redundant. A short
    word keeps its padding (`al noor`, `966 55 12`): there it is what narrows. The index's
    candidates are then checked against the pattern itself (migration 20261201_1910)."""
    tokens = _like_tokens(pattern)
    # Runs: ("w", word) for letters and digits, ("s", text) for other literals, ("%" or "_").
    runs: list[tuple[str, str]] = []
    for ch, wildcard in tokens:
        kind = ch if wildcard else "w" if ch.isalnum() else "s"
        if runs and kind in "ws" and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + ch)
        else:
            runs.append((kind, ch))

    def loose(i: int) -> bool:  # a run next to a separator that may lose its padding
        return (
            i < 0
            or i >= len(runs)
            or runs[i][0] == "%"
            or (runs[i][0] == "w" and _long_word(runs[i][1]))
        )

    parts: list[str] = []  # "%" only for a wildcard, literals escaped
    for i, (kind, text) in enumerate(runs):
        if kind == "%" or (kind == "s" and loose(i - 1) and loose(i + 1)):
            if not parts or parts[-1] != "%":
                parts.append("%")
        else:
            parts.append(_like_escape_literal(text) if kind == "s" else text)
    probe = "".join(parts)
    return probe if like_has_trigram(probe) else pattern


def _like_escape_literal(text: str) -> str:
    return "".join("\\" + ch if ch in "%_\\" else ch for ch in text)


def _indexable(spec: LeadQuerySpec) -> bool:
    """Whether the trigram index can answer a q of `spec`: every one of its patterns has a
    trigram."""
    return any(_indexable_conditions(c) for c in spec.conditions)


def _indexable_conditions(conditions: LeadConditions) -> bool:
    patterns = conditions.patterns
    return bool(patterns) and not conditions.never and all(map(like_has_trigram, patterns))


@dataclass(slots=True)
class _Walk:
    """How far a walk of a segment got: the ids of the hits, in order; the last lead walked;
    how many were; whether the segment ended."""

    position: KeysetAfter | None
    ids: list[UUID] = field(default_factory=list)
    walked: int = 0
    exhausted: bool = False

    def done(self, limit: int) -> bool:
        return self.exhausted or len(self.ids) >= limit


class LeadSearch(TenantRepository):
    def __init__(self, tx: Tx) -> None:
        super().__init__(tx)
        # What the index said of a set of conditions, for every segment of a page or a count:
        # the largest cap asked with, and the ids (None: more than that).
        self._from_index: dict[tuple[LeadConditions, ...], tuple[int, tuple[UUID, ...] | None]] = {}

    async def matching_ids(self, patterns: Sequence[str], *, cap: int) -> list[UUID] | None:
        """The ids of the tenant's leads the transaction may see (SALES rule) whose search
        text is LIKE any of `patterns`, any order, through the trigram index of `lead_search`
        (leedz_search_lead_ids: the request role cannot read that table); None when there are
        more than `cap`. Trash and merged leads included: the caller reads `leads` after."""
        probes = list(dict.fromkeys(map(index_probe, patterns)))
        rows = await self.fetch(
            "SELECT lead_id FROM leedz_search_lead_ids($2::text[], $3::int4, $4::text[])"
            " WHERE tenant_id = $1",
            list(patterns),
            cap + 1,
            None if probes == list(patterns) else probes,
        )
        if len(rows) > cap:
            return None
        return [r["lead_id"] for r in rows]

    async def _narrowed(self, spec: LeadQuerySpec, *, cap: int) -> LeadQuerySpec | None:
        """`spec` limited to the leads the trigram index names, when a q of it has a trigram
        and at most `cap` matches; `spec` itself when none does; None when no lead can match.
        Any of the q is enough (they are ANDed): the one with the fewest matches."""
        key = spec.conditions
        asked, among = self._from_index.get(key, (0, None))
        if among is None and asked < cap:
            for conditions in filter(_indexable_conditions, spec.conditions):
                ids = await self.matching_ids(conditions.patterns, cap=cap)
                if ids is not None and (among is None or len(ids) < len(among)):
                    among = tuple(ids)
                if among == ():
                    break
            self._from_index[key] = (cap, among)
        if among is None:
            return spec
        return replace(spec, among=among) if among else None

    async def page(
        self,
        spec: LeadQuerySpec,
        *,
        column: str,
        descending: bool,
        after: KeysetAfter | None,
        limit: int,
    ) -> list[SearchHit]:
        """Up to `limit` leads after `after`, in (column, id) order, NULL keys last. A nullable
        column is read in two segments (non-NULL keys, then NULL ones by id), each a walk of
        its index: no OR in the keyset condition."""
        hits: list[SearchHit] = []
        in_null_tail = after is not None and after.key is None
        segments = [] if in_null_tail else [(False, after)]
        if column in NULLABLE_SORT_COLUMNS:
            segments.append((True, after if in_null_tail else None))
        for nulls, start in segments:
            if len(hits) >= limit:
                break
            hits += await self._segment(
                spec, column=column, descending=descending, nulls=nulls, after=start,
                limit=limit - len(hits),
            )  # fmt: skip
        return hits

    async def _segment(
        self,
        spec: LeadQuerySpec,
        *,
        column: str,
        descending: bool,
        nulls: bool,
        after: KeysetAfter | None,
        limit: int,
    ) -> list[SearchHit]:
        page: dict[str, Any] = {"column": column, "descending": descending, "nulls": nulls}
        if not _has_opaque(spec):
            sql, args = page_sql(spec, **page, after=after, limit=limit)
            return self._hits(await self.fetch(sql, *args))
        indexed = _indexable(spec)
        walk = _Walk(position=after)
        budget = min(WALK_INDEXED_ROWS, WALK_MAX_ROWS) if indexed else WALK_MAX_ROWS
        await self._walk(spec, page, walk, limit, budget)
        narrowed: LeadQuerySpec | None = spec
        if indexed and not walk.done(limit):
            # Matches are not coming fast: ask the trigram index which leads can match.
            narrowed = await self._narrowed(spec, cap=INDEX_PROBE_IDS)
            if narrowed is spec:  # more than that: the q is common, walk on as far as ever
                await self._walk(spec, page, walk, limit, WALK_MAX_ROWS)
                if not walk.done(limit):
                    narrowed = await self._narrowed(spec, cap=INDEX_MAX_IDS)
        found = await self._rows(walk.ids[:limit], column)
        if walk.done(limit) or narrowed is None:
            return found
        # Rare: read every candidate after the walk (only those the index names, when it
        # answered) and sort those that match.
        sql, args = scan_sql(narrowed, **page, after=walk.position, limit=limit - len(found))
        ids = [r["id"] for r in await self.fetch(sql, *args)]
        return found + await self._rows(ids, column)

    async def _walk(
        self, spec: LeadQuerySpec, page: dict[str, Any], walk: _Walk, limit: int, budget: int
    ) -> None:
        """Walk the sort's index on from `walk.position`, in steps, while the matches come
        often enough to fill the page within `budget` leads walked in all (`walk` keeps the
        hits, the last lead walked, the count and whether the segment ended). A common q stops
        after a few hundred leads; a rare one hands over early."""
        low, high = WALK_FIRST_ROWS
        while not walk.done(limit):
            wanted = limit - len(walk.ids)
            if walk.walked == 0:
                step = min(max(wanted * WALK_ROWS_PER_WANTED, low), high)
            else:
                # The leads it would take to find the rest at the rate seen (none seen: as if
                # the next lead walked were one).
                needed = wanted * walk.walked / max(len(walk.ids), 1)
                if walk.walked + needed > budget:
                    return
                step = int(min(needed * 1.25 + 1, budget - walk.walked))
            sql, args = walk_sql(spec, **page, after=walk.position, rows=step, wanted=wanted)
            rows = await self.fetch(sql, *args)
            walk.ids += [r["id"] for r in rows if r["hit"]]
            last = next((r for r in rows if not r["hit"]), None)
            if last is None or int(last["n"]) < step:  # the segment has no more leads
                walk.exhausted = True
                return
            walk.walked += step
            walk.position = KeysetAfter(last["sort_key"], last["id"])

    async def _rows(self, ids: list[UUID], column: str) -> list[SearchHit]:
        """The leads `ids` names, in that order, with their sort key."""
        if not ids:
            return []
        if column not in SORT_COLUMNS:
            raise KeyError(column)
        rows = await self.fetch(
            f"SELECT {LEAD_COLUMNS}, {column} AS sort_key FROM leads"
            " WHERE tenant_id = $1 AND id = ANY ($2::uuid[])",
            ids,
        )
        by_id = {r["id"]: r for r in rows}
        # A lead deleted since the walk is left out (visibility held when it was walked).
        return self._hits([by_id[i] for i in ids if i in by_id])

    @staticmethod
    def _hits(rows: list[asyncpg.Record]) -> list[SearchHit]:
        hits = []
        for row in rows:
            fields = dict(row)
            key = fields.pop("sort_key")
            hits.append(SearchHit(lead=LeadRow.of(fields), sort_key=key))
        return hits

    async def count(self, spec: LeadQuerySpec) -> int:
        narrowed = await self._narrowed(spec, cap=INDEX_MAX_IDS)
        if narrowed is None:
            return 0
        sql, args = count_sql(narrowed)
        return int(await self.fetchval(sql, *args))

    async def list_ref(self, list_id: UUID) -> ListRef | None:
        """A list's kind and saved filter (a search's `listId`)."""
        row = await self.fetchrow(
            "SELECT id, kind::text AS kind, filter FROM lists WHERE tenant_id = $1 AND id = $2",
            list_id,
        )
        return ListRef(**row) if row is not None else None


# A large tenant's own trigram index on lead_search (leads/tenant_indexes.py): its name holds
# the tenant's id, so that a pass can tell them from every other index.
TENANT_INDEX_PREFIX = "ix_lead_search_for_"
_TENANT_INDEX = re.compile(rf"^{TENANT_INDEX_PREFIX}([0-9a-f]{{32}})$")


def index_name(tenant_id: UUID) -> str:
    return f"{TENANT_INDEX_PREFIX}{tenant_id.hex}"


def is_tenant_index(name: str) -> bool:
    """Whether an index is a tenant's own (the migrations' model does not list them)."""
    return _TENANT_INDEX.fullmatch(name) is not None


class TenantSearchIndexes:
    """The tenants' own indexes, on a connection of lead_search's owner outside any
    transaction (CREATE and DROP INDEX CONCURRENTLY need both; no statement timeout: a build
    reads the table twice)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self, name: str) -> bool:
        """A session advisory lock, if free; the statement timeout lifted while it is held."""
        if not await self.conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name):
            return False
        await self.conn.execute("SET statement_timeout = 0")
        return True

    async def unlock(self, name: str) -> None:
        await self.conn.execute("RESET statement_timeout")
        await self.conn.fetchval("SELECT pg_advisory_unlock(hashtext($1))", name)

    async def existing(self) -> dict[UUID, bool]:
        """The tenants' indexes: tenant -> valid (a CONCURRENTLY build cut short is not)."""
        rows = await self.conn.fetch(
            "SELECT c.relname, i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'public.lead_search'::regclass AND c.relname ~ $1",
            _TENANT_INDEX.pattern,
        )
        found = {}
        for row in rows:
            match = _TENANT_INDEX.fullmatch(row["relname"])
            if match:
                found[UUID(match.group(1))] = bool(row["indisvalid"])
        return found

    async def sizes(self, *, at_least: int) -> dict[UUID, int]:
        """The tenants with at least this many rows in lead_search (every lead, trash too)."""
        rows = await self.conn.fetch(
            "SELECT tenant_id, count(*) AS n FROM public.lead_search GROUP BY tenant_id"
            " HAVING count(*) >= $1",
            at_least,
        )
        return {r["tenant_id"]: int(r["n"]) for r in rows}

    async def build(self, tenant_id: UUID) -> None:
        await self.conn.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index_name(tenant_id)}"
            " ON public.lead_search USING gin (search_text gin_trgm_ops)"
            f" WHERE tenant_id = '{tenant_id}'::uuid"
        )

    async def drop(self, tenant_id: UUID) -> None:
        await self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{index_name(tenant_id)}")
