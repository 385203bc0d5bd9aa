"""SQL of resolution: the batch's locks, its candidate leads, their provenance, the bulk writes.

A batch costs a fixed number of round trips to look up, whatever its size: one statement takes
every advisory lock it needs (sorted), one reads and locks every candidate lead of every record
(keys through `lead_keys`, domains through `(tenant_id, domain)`, names through
`(tenant_id, name_key)`), one reads what backs their fields. Timeline entries and provenance
are written in one statement each at the end.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import asyncpg

from leedz.evidence.models import Confidence
from leedz.kit.db import Tx
from leedz.kit.events import EventBus
from leedz.kit.repository import TenantRepository, jsonb_text
from leedz.leads.models import ActivityType, LeadKeyKind, LeadStatus
from leedz.leads.record import DERIVED, Key
from leedz.leads.repository import LEAD_COLUMNS, LIVE, WRITABLE, LeadRow
from leedz.resolution.policy import MAPS_FIELDS, RANK, Backer

# Candidates read per (domain, city) and per (name, city) of a record: a chain's website may
# be on hundreds of leads; the oldest are the ones a record would merge into anyway.
PER_RULE_LIMIT = 100
# Seed of the advisory locks' hash (leads.repository's quota lock uses 7013).
_LOCK_SEED = 7014


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """A candidate lead (live or in the trash), locked, and which of the batch's keys it holds."""

    lead: LeadRow
    keys: list[Key]


@dataclass(frozen=True, slots=True)
class NameProbe:
    """A name key and city of the batch's records, and whether one of those records has no
    phone."""

    name_key: str
    city: str
    phoneless: bool


@dataclass(frozen=True, slots=True)
class BackerRow:
    lead_id: UUID
    field: str
    backer: Backer


@dataclass(frozen=True, slots=True)
class StoredEvidenceRow:
    """An evidence item already stored, as resolution reads it back (the CLI's backfill)."""

    id: UUID
    job_id: UUID
    job_type: str
    job_input: dict[str, Any] | None
    type: str
    title: str
    confidence: Confidence
    raw_data: dict[str, Any] | None
    collected_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**row, "confidence": Confidence(row["confidence"])})


@dataclass(frozen=True, slots=True)
class ActivityIn:
    lead_id: UUID
    type: ActivityType
    agent_id: UUID | None
    user_id: UUID | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LinkIn:
    lead_id: UUID
    evidence_id: UUID
    fields: list[str]


def with_bus(tx: Tx, bus: EventBus) -> Tx:
    """The same transaction, its events published on `bus` instead."""
    return Tx(tx.raw, tx.tenant_id, tx.user_id, bus)


class ResolutionLocks:
    """Transaction-scoped advisory locks of one tenant's identities."""

    def __init__(self, tx: Tx) -> None:
        self.raw = tx.raw
        self.tenant_id = tx.current_tenant

    async def lock(self, names: Iterable[str], *, coarse: bool = False) -> None:
        """The tenant's resolution lock, shared (or exclusive when `coarse`), then every lock
        of `names` (none when `coarse`), in one statement, in the order of their lock ids: two
        batches that share locks take them in the same order, so one waits for the other and
        neither deadlocks. (A volatile function in the select list runs after the ORDER BY
        sort.) A batch too large to lock identity by identity takes the tenant's lock alone,
        exclusively: it waits for every other batch of the tenant, and they for it."""
        wanted = [] if coarse else sorted(set(names))
        await self.raw.execute(
            "SELECT CASE WHEN s.shared THEN pg_advisory_xact_lock_shared(s.h)"
            " ELSE pg_advisory_xact_lock(s.h) END FROM ("
            f" SELECT NOT $3 AS shared, 0 AS o, hashtextextended('tenant ' || $1, {_LOCK_SEED})"
            " AS h UNION ALL SELECT DISTINCT false, 1,"
            f" hashtextextended($1 || ' ' || n, {_LOCK_SEED}) FROM unnest($2::text[]) AS n"
            ") AS s ORDER BY s.o, s.h",
            str(self.tenant_id),
            wanted,
            coarse,
        )


class Candidates(TenantRepository):
    async def lock(
        self,
        *,
        keys: Sequence[Key],
        domains: Sequence[tuple[str, str | None]],
        names: Sequence[NameProbe],
    ) -> list[CandidateRow]:
        """Every lead a record of the batch may be, locked in id order, with the batch's keys it
        holds: a key's owner (live or in the trash, not merged), live leads of an identity
        domain in the city (or any, the city unknown: `None`), live leads of a name key in the
        city that rule 5 can tie to one of the records of that name and city (one of them
        has no phone, or the lead has none, or shares one: "unless both have phones and share
        none"; one that shares a phone owns its key, so it is a key's owner already). The
        caller applies the rules to the fields as they are once locked."""
        rows = await self.fetch(
            # Every key of the lead (a few), kept to the batch's below: matching each against
            # the batch's thousands in SQL cost a hash of them per lead, half the statement.
            f"SELECT {LEAD_COLUMNS}, (SELECT coalesce(jsonb_agg(jsonb_build_array(k.kind, k.value)"
            " ORDER BY k.kind, k.value), '[]'::jsonb) FROM lead_keys k"
            " WHERE k.tenant_id = l.tenant_id AND k.lead_id = l.id) AS lead_keys"
            " FROM leads l WHERE l.tenant_id = $1 AND l.merged_into_id IS NULL AND l.id IN ("
            # By value (texteq is leakproof): the (tenant_id, value) index answers under RLS.
            " SELECT k.lead_id FROM lead_keys k WHERE k.tenant_id = $1 AND (k.kind, k.value)"
            " IN (SELECT u.kind::lead_key_kind, u.value FROM unnest($2::text[], $3::text[])"
            " AS u(kind, value)) AND k.value = ANY($3::text[])"
            " UNION SELECT d.id FROM unnest($4::text[], $5::text[]) AS p(domain, city)"
            " CROSS JOIN LATERAL (SELECT id FROM leads WHERE tenant_id = $1 AND " + LIVE +
            " AND domain = p.domain AND (p.city IS NULL OR city_key IS NULL"
            " OR city_key = p.city) ORDER BY created_at, id LIMIT $8) AS d"
            " UNION SELECT n.id FROM unnest($6::text[], $7::text[], $9::boolean[])"
            " AS q(name_key, city, phoneless)"
            " CROSS JOIN LATERAL (SELECT c.id FROM ("
            # city_key (texteq, leakproof): an index condition of (tenant_id, name_key,
            # city_key) under RLS, where lower(btrim(city)) was a filter (20261202_0900).
            # A phoneless record: every live lead of its name and city. Otherwise those of no
            # phone, from a partial index (20261202_1930); those sharing a phone own one of the
            # record's PHONE keys (a lead's phones are its keys), so the key lookup above has
            # them, and the leads of the name and city need not all be read to compare phones.
            " SELECT id, created_at FROM leads WHERE q.phoneless AND tenant_id = $1 AND "
            + LIVE + " AND name_key = q.name_key AND city_key = q.city"
            " UNION ALL SELECT id, created_at FROM leads WHERE NOT q.phoneless"
            " AND tenant_id = $1 AND " + LIVE + " AND cardinality(phones) = 0"
            " AND name_key = q.name_key AND city_key = q.city"
            " ) AS c ORDER BY c.created_at, c.id LIMIT $8) AS n)"
            " ORDER BY l.id FOR UPDATE OF l",
            [k.kind.value for k in keys],
            [k.value for k in keys],
            [d for d, _ in domains],
            [c for _, c in domains],
            [n.name_key for n in names],
            [n.city for n in names],
            PER_RULE_LIMIT,
            [n.phoneless for n in names],
        )  # fmt: skip
        wanted = set(keys)
        return [
            CandidateRow(
                lead=LeadRow.of(_without(r, "lead_keys")),
                keys=[
                    key
                    for kind, value in r["lead_keys"]
                    if (key := Key(LeadKeyKind(kind), value)) in wanted
                ],
            )
            for r in rows
        ]

    async def lead(self, lead_id: UUID) -> LeadRow:
        """One lead as it is now (after a merge wrote it)."""
        row = await self.fetchrow_one(
            f"SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND id = $2", lead_id
        )
        return LeadRow.of(row)

    async def backers(self, lead_ids: Sequence[UUID]) -> list[BackerRow]:
        """For each lead and each field its provenance lists, the evidence that backs it: the
        best by confidence then time (rating fields: the newest Maps listing, else the
        newest)."""
        if not lead_ids:
            return []
        maps_fields = sorted(MAPS_FIELDS)
        rows = await self.fetch(
            "SELECT DISTINCT ON (le.lead_id, f.field) le.lead_id, f.field,"
            " v.confidence::text AS confidence, v.collected_at,"
            " v.type = 'GOOGLE_MAPS_LISTING' AS maps"
            " FROM lead_evidence le JOIN evidence v"
            " ON v.tenant_id = le.tenant_id AND v.id = le.evidence_id"
            " CROSS JOIN LATERAL unnest(le.fields) AS f(field)"
            " WHERE le.tenant_id = $1 AND le.lead_id = ANY($2::uuid[])"
            " ORDER BY le.lead_id, f.field,"
            " CASE WHEN f.field = ANY($3::text[]) THEN (v.type = 'GOOGLE_MAPS_LISTING')::int"
            " ELSE CASE v.confidence WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END END DESC,"
            " v.collected_at DESC",
            list(lead_ids),
            maps_fields,
        )
        return [
            BackerRow(
                lead_id=r["lead_id"],
                field=r["field"],
                backer=Backer(
                    rank=RANK[Confidence(r["confidence"])],
                    collected_at=r["collected_at"],
                    maps=r["maps"],
                ),
            )
            for r in rows
        ]

    async def links(self, evidence_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        """Evidence id → the lead it is linked to already (the oldest link, if several)."""
        if not evidence_ids:
            return {}
        rows = await self.fetch(
            "SELECT DISTINCT ON (evidence_id) evidence_id, lead_id FROM lead_evidence"
            " WHERE tenant_id = $1 AND evidence_id = ANY($2::uuid[])"
            " ORDER BY evidence_id, created_at, lead_id",
            list(evidence_ids),
        )
        return {r["evidence_id"]: r["lead_id"] for r in rows}


def _without(row: asyncpg.Record, column: str) -> Any:
    return {k: v for k, v in row.items() if k != column}


def _plain(value: Any) -> Any:
    """A column's value as JSON gives it to `jsonb_populate_recordset`."""
    return value.value if isinstance(value, enum.Enum) else value


# What a new lead holds that its creation does not set: the table's defaults.
_NEW_LEAD_DEFAULTS: dict[str, Any] = {
    "status": LeadStatus.NEW,
    "owner_id": None,
    "do_not_contact": False,
    "custom_fields": {},
    "edited_fields": [],
    "version": 1,
    "created_by_id": None,
    "deleted_at": None,
    "merged_into_id": None,
}
_ROW_FIELDS = frozenset(f.name for f in fields(LeadRow))
# The columns `insert_leads` writes from a lead's row: every writable one but the derived ones
# a `LeadRow` does not hold (`record.DERIVED`: the caller keeps them beside the row).
_INSERTED = [name for name in WRITABLE if name not in DERIVED]
_WRITTEN = [*_INSERTED, *DERIVED]


def new_lead_row(lead_id: UUID, columns: Mapping[str, Any], at: datetime) -> LeadRow:
    """The lead `insert_leads` will write from `columns` (a creation's), before it is
    written: the table's defaults for what `columns` leave out, `at` as its times (its
    place among the batch's leads; the insert gives the clock's)."""
    given = {name: value for name, value in columns.items() if name in _ROW_FIELDS}
    times = {"created_at": at, "updated_at": at, "last_activity_at": at}
    return LeadRow(**(_NEW_LEAD_DEFAULTS | given | times | {"id": lead_id}))


def row_columns(row: LeadRow, columns: Mapping[str, Any]) -> LeadRow:
    """`row` with the `LeadRow` fields of `columns` (a write's) set; the version as is."""
    return replace(row, **{name: value for name, value in columns.items() if name in _ROW_FIELDS})


class ResolutionWrites(TenantRepository):
    async def insert_leads(
        self, leads: Sequence[tuple[LeadRow, Mapping[str, Any]]]
    ) -> list[LeadRow]:
        """New leads, each its row (`new_lead_row`, then the batch's changes, version
        included) and its derived columns (`search_text`, `name_sort`, `name_key`), in one
        statement. Their times are the clock's, one microsecond apart in the given order:
        leads created in one batch are ordered as they were created (the oldest survives a
        merge), after every lead before them. The rows as written, in the given order."""
        if not leads:
            return []
        payload = [
            {
                "id": row.id,
                "version": row.version,
                **{name: _plain(row.column(name)) for name in _INSERTED},
                **{name: derived[name] for name in DERIVED},
            }
            for row, derived in leads
        ]
        names = ", ".join(_WRITTEN)
        rows = await self.fetch(
            f"INSERT INTO leads (tenant_id, id, version, created_at, updated_at,"
            f" last_activity_at, {names}) SELECT $1, r.id, r.version, t.at, t.at, t.at,"
            f" {', '.join(f'r.{name}' for name in _WRITTEN)}"
            " FROM jsonb_populate_recordset(NULL::leads, $2::jsonb) WITH ORDINALITY AS r"
            " CROSS JOIN (SELECT clock_timestamp() AS now) AS c"
            " CROSS JOIN LATERAL (SELECT c.now + interval '1 microsecond' * (r.ordinality - 1)"
            f" AS at) AS t ORDER BY r.ordinality RETURNING {LEAD_COLUMNS}",
            jsonb_text(payload),
        )
        written = {r["id"]: LeadRow.of(r) for r in rows}
        return [written[row.id] for row, _ in leads]

    async def claim_keys(self, claims: Sequence[tuple[UUID, Key]]) -> int:
        """Give each key to its lead, in one statement (the keys in lock order); how many
        another lead held already (none of those is taken). Concurrent claimants of one key
        wait on its row: one wins, the others see it taken."""
        wanted = sorted({(key.kind.value, key.value): lead_id for lead_id, key in claims}.items())
        if not wanted:
            return 0
        rows = await self.fetch(
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " SELECT $1, k.kind::lead_key_kind, k.value, k.lead_id"
            " FROM unnest($2::text[], $3::text[], $4::uuid[]) AS k(kind, value, lead_id)"
            " ON CONFLICT (tenant_id, kind, value) DO NOTHING RETURNING kind",
            [kind for (kind, _), _ in wanted],
            [value for (_, value), _ in wanted],
            [lead_id for _, lead_id in wanted],
        )
        return len(wanted) - len(rows)

    async def touch(self, lead_ids: Sequence[UUID]) -> None:
        """Leads whose timeline gained an entry without a change: their last activity is now."""
        if lead_ids:
            await self.execute(
                "UPDATE leads SET last_activity_at = now() WHERE tenant_id = $1"
                " AND id = ANY($2::uuid[])",
                list(lead_ids),
            )

    async def activities(self, entries: Sequence[ActivityIn]) -> None:
        if not entries:
            return
        await self.execute(
            "INSERT INTO lead_activities"
            " (tenant_id, lead_id, type, actor_user_id, actor_agent_id, details, created_at)"
            " SELECT $1, a.lead_id, a.type::lead_activity_type, a.user_id, a.agent_id,"
            " a.details::jsonb, clock_timestamp()"
            " FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[])"
            " WITH ORDINALITY AS a(lead_id, type, user_id, agent_id, details, position)"
            " ORDER BY a.position",
            [e.lead_id for e in entries],
            [e.type.value for e in entries],
            [e.user_id for e in entries],
            [e.agent_id for e in entries],
            [jsonb_text(dict(e.details)) for e in entries],
        )

    async def links(self, links: Sequence[LinkIn]) -> None:
        """Provenance rows; a link already there keeps its time and gains the fields."""
        if not links:
            return
        await self.execute(
            "INSERT INTO lead_evidence (tenant_id, lead_id, evidence_id, fields)"
            " SELECT $1, l.lead_id, l.evidence_id, ARRAY(SELECT jsonb_array_elements_text(l.f))"
            " FROM unnest($2::uuid[], $3::uuid[], $4::jsonb[]) AS l(lead_id, evidence_id, f)"
            " ON CONFLICT (lead_id, evidence_id) DO UPDATE SET fields = ARRAY("
            " SELECT DISTINCT unnest(lead_evidence.fields || EXCLUDED.fields) ORDER BY 1)",
            [link.lead_id for link in links],
            [link.evidence_id for link in links],
            [jsonb_text(link.fields) for link in links],
        )

    async def count_leads(self, job_id: UUID, *, created: int, joined: int) -> None:
        """Add to a SEARCH/SURVEY job's `leadsCreated` and `leadsJoined` (in its output)."""
        await self.execute(
            "UPDATE jobs SET output = coalesce(output, '{}'::jsonb) || jsonb_build_object("
            "'leadsCreated', coalesce((output->>'leadsCreated')::int, 0) + $3,"
            " 'leadsJoined', coalesce((output->>'leadsJoined')::int, 0) + $4),"
            " updated_at = now() WHERE tenant_id = $1 AND id = $2",
            job_id,
            created,
            joined,
        )

    async def stored_evidence(self, evidence_ids: Sequence[UUID]) -> list[StoredEvidenceRow]:
        rows = await self.fetch(
            "SELECT v.id, v.job_id, j.type::text AS job_type, j.input AS job_input,"
            " v.type::text AS type, v.title, v.confidence::text AS confidence, v.raw_data,"
            " v.collected_at FROM evidence v JOIN jobs j"
            " ON j.tenant_id = v.tenant_id AND j.id = v.job_id"
            " WHERE v.tenant_id = $1 AND v.id = ANY($2::uuid[])"
            " ORDER BY v.created_at, v.collected_at, v.id",
            list(evidence_ids),
        )
        return [StoredEvidenceRow.of(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# The backfill (`leedz leads resolve`)

# Seed of the backfill's advisory lock (one run per tenant at a time).
_BACKFILL_LOCK_SEED = 7015


@dataclass(frozen=True, slots=True)
class Position:
    """An evidence item's place in the backfill's order: `(created_at, collected_at, id)`."""

    created_at: datetime
    collected_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class Tally:
    resolved: int = 0
    created: int = 0
    joined: int = 0
    over_quota: int = 0


@dataclass(frozen=True, slots=True)
class Checkpoint:
    after: Position
    tally: Tally


class Backfills(TenantRepository):
    """The tenant's backfill checkpoint (`resolution_backfills`) and the evidence after it."""

    async def try_lock(self) -> bool:
        """The tenant's backfill lock, for this transaction; False when another run has it."""
        held: bool = await self.tx.raw.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('backfill ' || $1::text,"
            f" {_BACKFILL_LOCK_SEED}))",
            str(self.tenant_id),
        )
        return held

    async def checkpoint(self) -> Checkpoint | None:
        row = await self.fetchrow(
            "SELECT after_created_at, after_collected_at, after_id, resolved, created, joined,"
            " over_quota FROM resolution_backfills WHERE tenant_id = $1"
        )
        if row is None:
            return None
        return Checkpoint(
            after=Position(row["after_created_at"], row["after_collected_at"], row["after_id"]),
            tally=Tally(row["resolved"], row["created"], row["joined"], row["over_quota"]),
        )

    async def forget(self) -> None:
        """Start again from the first evidence item (`--restart`)."""
        await self.execute("DELETE FROM resolution_backfills WHERE tenant_id = $1")

    async def advance(self, after: Position, tally: Tally) -> None:
        """The checkpoint moves to `after`, and its counters add `tally` (in the batch's
        transaction: a batch that rolls back moves nothing)."""
        await self.execute(
            "INSERT INTO resolution_backfills (tenant_id, after_created_at, after_collected_at,"
            " after_id, resolved, created, joined, over_quota) VALUES ($1, $2, $3, $4, $5, $6,"
            " $7, $8) ON CONFLICT (tenant_id) DO UPDATE SET"
            " after_created_at = EXCLUDED.after_created_at,"
            " after_collected_at = EXCLUDED.after_collected_at, after_id = EXCLUDED.after_id,"
            " resolved = resolution_backfills.resolved + EXCLUDED.resolved,"
            " created = resolution_backfills.created + EXCLUDED.created,"
            " joined = resolution_backfills.joined + EXCLUDED.joined,"
            " over_quota = resolution_backfills.over_quota + EXCLUDED.over_quota,"
            " updated_at = now()",
            after.created_at,
            after.collected_at,
            after.id,
            tally.resolved,
            tally.created,
            tally.joined,
            tally.over_quota,
        )

    async def pending(self, after: Position | None) -> int:
        """How many items a run from `after` will look at (for its progress)."""
        count: int = await self.fetchval(_PENDING.format(select="count(*)"), *_after(after))
        return count

    def positions(self, after: Position | None, *, prefetch: int) -> AsyncIterator[Position]:
        """Every item to resolve after `after`, in order, read through a server-side cursor (the
        transaction must stay open while it is read): evidence of business-record types, of
        SEARCH and SURVEY jobs, not linked to a lead yet."""
        cursor = self.tx.raw.cursor(
            _PENDING.format(select="v.created_at, v.collected_at, v.id")
            + " ORDER BY v.created_at, v.collected_at, v.id",
            self.tenant_id,
            *_after(after),
            prefetch=prefetch,
        )
        return (Position(r["created_at"], r["collected_at"], r["id"]) async for r in cursor)


_PENDING = (
    "SELECT {select} FROM evidence v JOIN jobs j ON j.tenant_id = v.tenant_id AND j.id = v.job_id"
    " WHERE v.tenant_id = $1 AND j.type::text IN ('SEARCH', 'SURVEY')"
    " AND v.type::text IN ('GOOGLE_MAPS_LISTING', 'CONTACT_INFO', 'SOCIAL_PROFILE',"
    " 'WEBSITE_CONTENT')"
    " AND ($2::boolean OR (v.created_at, v.collected_at, v.id)"
    " > ($3::timestamptz, $4::timestamptz, $5::uuid))"
    " AND NOT EXISTS (SELECT 1 FROM lead_evidence e WHERE e.tenant_id = v.tenant_id"
    " AND e.evidence_id = v.id)"
)


def _after(after: Position | None) -> tuple[Any, ...]:
    if after is None:
        return (True, None, None, None)
    return (False, after.created_at, after.collected_at, after.id)


async def visible_tenant_ids(conn: asyncpg.Connection) -> list[UUID]:
    """The tenants this connection's own role sees (no tenant set, no role switched): all of
    them for a role that bypasses row-level security, none for one that does not."""
    rows = await conn.fetch("SELECT id FROM tenants ORDER BY created_at, id")
    return [r["id"] for r in rows]
