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
    def of(cls, row: asyncpg.Record) -> Self:
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
    name: str | None  # None: a lead the transaction may not see (SALES visibility)
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
        """Leads that count against `maxLeads`: live ones and the trash (until purged).

        All of the tenant's, including those the SALES visibility policy hides from this
        transaction's user: for the length of the count the transaction names no user (the
        policy then hides nothing; tenant isolation still holds), then names its user again."""
        raw = self.tx.raw
        user = await raw.fetchval("SELECT current_setting('app.current_user_id', true)")
        await raw.execute("SELECT set_config('app.current_user_id', '', true)")
        # A failed count ends the transaction: nothing to give back then.
        count = await self.fetchval(
            "SELECT count(*) FROM leads WHERE tenant_id = $1 AND merged_into_id IS NULL"
        )
        await raw.execute("SELECT set_config('app.current_user_id', $1, true)", user or "")
        return int(count)

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
            # LEFT JOIN: a key of a lead hidden from this user (SALES visibility) is still
            # taken; its holder is named without its name.
            "SELECT k.kind, k.value, k.lead_id, l.name,"
            " coalesce(l.deleted_at IS NOT NULL, false) AS deleted"
            " FROM lead_keys k LEFT JOIN leads l ON l.tenant_id = k.tenant_id AND l.id = k.lead_id"
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
