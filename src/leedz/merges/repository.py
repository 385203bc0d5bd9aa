"""SQL of merges, their undo, duplicate suggestions and provenance. Scoped to the tenant (`$1`).

Merges move rows between leads: keys, list memberships, timeline entries and evidence links
change `lead_id`; folded-in leads get `merged_into_id`. Full rows are read with `to_jsonb` (every
column, whatever the table holds) so that the snapshot of a merge is what undo writes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, cast
from uuid import UUID

import asyncpg

from leedz.evidence.models import Confidence, EvidenceType
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository, jsonb_text
from leedz.leads.models import Lead, LeadKeyKind
from leedz.leads.record import Key
from leedz.leads.repository import (
    INDEX_MAX_IDS,
    LEAD_COLUMNS,
    LIVE,
    LeadRow,
    LeadSearch,
    like_has_trigram,
)

# Every column undo writes back on a restored lead: all but its identity and the columns
# PostgreSQL generates (`city_key`, computed again from the restored city). The user references
# keep the row's current value: while the lead was folded in, only their foreign keys' ON DELETE
# SET NULL can have changed them (the owner left, the creator's account was deleted), and the
# snapshot's value would no longer be a member or a user.
_RESTORED_COLUMNS = tuple(
    c.name
    for c in Lead.__table__.columns
    if c.name not in {"id", "tenant_id"} and c.computed is None
)
_KEPT_COLUMNS = frozenset({"owner_id", "created_by_id"})


def _visibility(param: int, alias: str = "") -> str:
    """The code's half of the SALES rule (leads.repository): own and unassigned leads only."""
    owner = f"{alias}owner_id"
    return f" AND (${param}::uuid IS NULL OR {owner} IS NULL OR {owner} = ${param}::uuid)"


@dataclass(frozen=True, slots=True)
class FullRow:
    """Every column of one row, as `to_jsonb` writes it (what a snapshot keeps)."""

    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyHolder:
    kind: LeadKeyKind
    value: str
    lead_id: UUID
    name: str


# ---------------------------------------------------------------------------------------------
# Leads


class MergeLeads(TenantRepository):
    async def lock(self, ids: Sequence[UUID], *, visible_to: UUID | None) -> list[LeadRow]:
        """The leads (any state) the actor may see, locked in id order: two merges over
        overlapping leads queue on the first shared row instead of deadlocking."""
        rows = await self.fetch(
            f"SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND id = ANY($2::uuid[])"
            + _visibility(3)
            + " ORDER BY id FOR UPDATE",
            list(ids),
            visible_to,
        )
        return [LeadRow.of(r) for r in rows]

    async def full_rows(self, ids: Sequence[UUID]) -> list[FullRow]:
        rows = await self.fetch(
            "SELECT to_jsonb(l) AS data FROM leads l WHERE l.tenant_id = $1"
            " AND l.id = ANY($2::uuid[]) ORDER BY l.id",
            list(ids),
        )
        return [FullRow(r["data"]) for r in rows]

    async def mark_merged(self, ids: Sequence[UUID], survivor_id: UUID) -> None:
        """Folded into the survivor; nothing else of the row changes (undo puts it back)."""
        await self.execute(
            "UPDATE leads SET merged_into_id = $2 WHERE tenant_id = $1 AND id = ANY($3::uuid[])",
            survivor_id,
            list(ids),
        )

    async def restore(self, rows: Sequence[Mapping[str, Any]]) -> list[LeadRow]:
        """Write back every column of each snapshot row (its `merged_into_id`, NULL, too);
        `last_activity_at` becomes now: the undo is the lead's latest activity."""
        columns = ", ".join(_RESTORED_COLUMNS)
        values = ", ".join(f"{'l' if c in _KEPT_COLUMNS else 'r'}.{c}" for c in _RESTORED_COLUMNS)
        restored = await self.fetch(
            f"UPDATE leads l SET ({columns}) = ({values})"
            " FROM jsonb_populate_recordset(NULL::leads, $2::jsonb) AS r"
            " WHERE l.tenant_id = $1 AND l.id = r.id AND r.tenant_id = $1"
            " RETURNING l.id",
            jsonb_text(list(rows)),
        )
        ids = [r["id"] for r in restored]
        touched = await self.fetch(
            "UPDATE leads SET last_activity_at = now() WHERE tenant_id = $1"
            f" AND id = ANY($2::uuid[]) RETURNING {LEAD_COLUMNS}",
            ids,
        )
        by_id = {r["id"]: LeadRow.of(r) for r in touched}
        return [by_id[row_id] for row_id in sorted(by_id, key=str)]


# ---------------------------------------------------------------------------------------------
# Keys


class MergeKeys(TenantRepository):
    async def repoint(self, from_ids: Sequence[UUID], to_id: UUID) -> list[FullRow]:
        """Every key of `from_ids` now points at `to_id`; the rows as they were."""
        rows = await self.fetch(
            "UPDATE lead_keys k SET lead_id = $2 FROM (SELECT kind, value, lead_id FROM lead_keys"
            " WHERE tenant_id = $1 AND lead_id = ANY($3::uuid[])) AS o"
            " WHERE k.tenant_id = $1 AND k.kind = o.kind AND k.value = o.value"
            " RETURNING jsonb_build_object('tenant_id', k.tenant_id, 'kind', o.kind,"
            " 'value', o.value, 'lead_id', o.lead_id) AS data",
            to_id,
            list(from_ids),
        )
        return sorted(
            (FullRow(r["data"]) for r in rows), key=lambda r: (r.data["kind"], r.data["value"])
        )

    async def holders(self, keys: Sequence[Key]) -> list[KeyHolder]:
        """Who holds each of `keys` now, those rows locked (kind, value order)."""
        if not keys:
            return []
        rows = await self.fetch(
            "SELECT k.kind, k.value, k.lead_id, l.name FROM lead_keys k"
            " JOIN leads l ON l.tenant_id = k.tenant_id AND l.id = k.lead_id"
            " WHERE k.tenant_id = $1 AND (k.kind::text, k.value) IN"
            " (SELECT * FROM unnest($2::text[], $3::text[]))"
            # The leakproof half, for the (tenant_id, value) index under RLS.
            " AND k.value = ANY($3::text[])"
            " ORDER BY k.kind, k.value FOR UPDATE OF k",
            [k.kind.value for k in keys],
            [k.value for k in keys],
        )
        return [KeyHolder(**{**r, "kind": LeadKeyKind(r["kind"])}) for r in rows]

    async def give_back(self, rows: Sequence[Mapping[str, Any]], *, held_by: UUID) -> int:
        """Each key row back to its lead: taken from `held_by` where it holds it, inserted where
        nobody does. Returns how many rows now point where they should (less: someone raced)."""
        kinds = [r["kind"] for r in rows]
        values = [r["value"] for r in rows]
        leads = [UUID(str(r["lead_id"])) for r in rows]
        await self.execute(
            "DELETE FROM lead_keys WHERE tenant_id = $1 AND lead_id = $2 AND (kind::text, value)"
            " IN (SELECT * FROM unnest($3::text[], $4::text[])) AND value = ANY($4::text[])",
            held_by,
            kinds,
            values,
        )
        inserted = await self.fetch(
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " SELECT $1, k.kind::lead_key_kind, k.value, k.lead_id"
            " FROM unnest($2::text[], $3::text[], $4::uuid[]) AS k(kind, value, lead_id)"
            " ON CONFLICT (tenant_id, kind, value) DO NOTHING RETURNING kind",
            kinds,
            values,
            leads,
        )
        return len(inserted)


# ---------------------------------------------------------------------------------------------
# List memberships and evidence links: a (container, lead) pair, unique


@dataclass(frozen=True, slots=True)
class PairTable:
    """A table of (container, lead) rows, one per pair, that a merge re-points and its undo
    puts back: what differs between list memberships and evidence links.

    `container` is the pair's other column, `container_table` the table it references (a row
    is put back only while its container exists); `time` is the row's own timestamp; `extra`
    the columns an undo writes back besides the pair, each with its SQL over the snapshot row
    `r` (and `joins`); `same_row` tells the row a merge moved (`m`) from one re-added since."""

    table: str
    container: str
    container_table: str
    time: str
    extra: tuple[tuple[str, str], ...]
    joins: str
    same_row: str


LIST_MEMBERSHIPS = PairTable(
    table="list_members",
    container="list_id",
    container_table="lists",
    time="added_at",
    # Who added it, while their account exists.
    extra=(("added_by_id", "u.id"), ("added_at", "r.added_at")),
    joins=" LEFT JOIN users u ON u.id = r.added_by_id",
    # Same list, same time and adder: one re-added since by a person stays.
    same_row="m.added_at = r.added_at AND m.added_by_id IS NOT DISTINCT FROM r.added_by_id",
)
EVIDENCE_LINKS = PairTable(
    table="lead_evidence",
    container="evidence_id",
    container_table="evidence",
    time="created_at",
    extra=(("fields", "r.fields"), ("created_at", "r.created_at")),
    joins="",
    same_row="m.created_at = r.created_at",
)


class MergePairs(TenantRepository):
    """The rows of a `PairTable` (list memberships, evidence links) a merge moves."""

    def __init__(self, tx: Tx, pairs: PairTable) -> None:
        super().__init__(tx)
        self.pairs = pairs

    async def of_leads(self, lead_ids: Sequence[UUID]) -> list[FullRow]:
        t = self.pairs
        rows = await self.fetch(
            f"SELECT to_jsonb(m) AS data FROM {t.table} m WHERE m.tenant_id = $1"
            f" AND m.lead_id = ANY($2::uuid[]) ORDER BY m.{t.container}, m.{t.time}, m.lead_id"
            " FOR UPDATE",
            list(lead_ids),
        )
        return [FullRow(r["data"]) for r in rows]

    async def move(self, pairs: Sequence[tuple[UUID, UUID]], to_id: UUID) -> None:
        """(container, lead_id) pairs re-pointed to `to_id` (which is in none of those
        containers)."""
        if pairs:
            await self.execute(
                f"UPDATE {self.pairs.table} SET lead_id = $2 WHERE tenant_id = $1"
                f" AND ({self.pairs.container}, lead_id)"
                " IN (SELECT * FROM unnest($3::uuid[], $4::uuid[]))",
                to_id,
                [p[0] for p in pairs],
                [p[1] for p in pairs],
            )

    async def drop(self, pairs: Sequence[tuple[UUID, UUID]]) -> None:
        if pairs:
            await self.execute(
                f"DELETE FROM {self.pairs.table} WHERE tenant_id = $1"
                f" AND ({self.pairs.container}, lead_id)"
                " IN (SELECT * FROM unnest($2::uuid[], $3::uuid[]))",
                [p[0] for p in pairs],
                [p[1] for p in pairs],
            )

    async def take_back(self, moved: Sequence[Mapping[str, Any]], *, from_id: UUID) -> None:
        """Remove from `from_id` the rows a merge moved to it, where they are still the moved
        rows (`PairTable.same_row`)."""
        t = self.pairs
        if moved:
            await self.execute(
                f"DELETE FROM {t.table} m USING jsonb_populate_recordset("
                f"NULL::{t.table}, $3::jsonb) AS r WHERE m.tenant_id = $1 AND m.lead_id = $2"
                f" AND m.{t.container} = r.{t.container} AND {t.same_row}",
                from_id,
                jsonb_text(list(moved)),
            )

    async def put_back(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The snapshot rows again, in the containers that still exist."""
        t = self.pairs
        if rows:
            columns = ", ".join(name for name, _ in t.extra)
            values = ", ".join(value for _, value in t.extra)
            await self.execute(
                f"INSERT INTO {t.table} (tenant_id, {t.container}, lead_id, {columns})"
                f" SELECT $1, r.{t.container}, r.lead_id, {values}"
                f" FROM jsonb_populate_recordset(NULL::{t.table}, $2::jsonb) AS r"
                f" JOIN {t.container_table} c ON c.tenant_id = $1 AND c.id = r.{t.container}"
                f"{t.joins} ON CONFLICT ({t.container}, lead_id) DO NOTHING",
                jsonb_text(list(rows)),
            )


# ---------------------------------------------------------------------------------------------
# Timeline


class MergeActivities(TenantRepository):
    async def repoint(self, from_ids: Sequence[UUID], to_id: UUID) -> dict[str, list[str]]:
        """Every timeline entry of `from_ids` moves to `to_id`: lead id → the entries it had."""
        rows = await self.fetch(
            "UPDATE lead_activities a SET lead_id = $2 FROM (SELECT id, lead_id FROM"
            " lead_activities WHERE tenant_id = $1 AND lead_id = ANY($3::uuid[])) AS o"
            " WHERE a.tenant_id = $1 AND a.id = o.id RETURNING a.id, o.lead_id",
            to_id,
            list(from_ids),
        )
        moved: dict[str, list[str]] = {}
        for row in rows:
            moved.setdefault(str(row["lead_id"]), []).append(str(row["id"]))
        return {lead: sorted(ids) for lead, ids in sorted(moved.items())}

    async def give_back(self, moved: Mapping[str, Sequence[str]], *, held_by: UUID) -> None:
        pairs = [(UUID(entry), UUID(lead)) for lead, entries in moved.items() for entry in entries]
        if pairs:
            await self.execute(
                "UPDATE lead_activities a SET lead_id = m.lead_id"
                " FROM unnest($2::uuid[], $3::uuid[]) AS m(id, lead_id)"
                " WHERE a.tenant_id = $1 AND a.id = m.id AND a.lead_id = $4",
                [p[0] for p in pairs],
                [p[1] for p in pairs],
                held_by,
            )


# ---------------------------------------------------------------------------------------------
# lead_merges


MERGE_COLUMNS = (
    "id, survivor_id, merged_ids, snapshot, created_by_id, created_at, undone_at, undone_by_id"
)


@dataclass(frozen=True, slots=True)
class MergeRow:
    id: UUID
    survivor_id: UUID
    merged_ids: list[UUID]
    snapshot: dict[str, Any]
    created_by_id: UUID | None
    created_at: datetime
    undone_at: datetime | None
    undone_by_id: UUID | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**row, "merged_ids": list(row["merged_ids"])})


class Merges(TenantRepository):
    async def insert(
        self,
        *,
        survivor_id: UUID,
        merged_ids: Sequence[UUID],
        snapshot: Mapping[str, Any],
        created_by_id: UUID | None,
        reason: str | None = None,
    ) -> MergeRow:
        # clock_timestamp(), not now(): merges of shared leads run one after the other (row
        # locks), and their order must be the order they took effect in, whichever
        # transaction began first.
        row = await self.fetchrow_one(
            "INSERT INTO lead_merges (tenant_id, survivor_id, merged_ids, snapshot,"
            " created_by_id, reason, created_at) VALUES ($1, $2, $3::uuid[], $4::jsonb, $5, $6,"
            f" clock_timestamp()) RETURNING {MERGE_COLUMNS}",
            survivor_id,
            list(merged_ids),
            jsonb_text(dict(snapshot)),
            created_by_id,
            reason,
        )
        return MergeRow.of(row)

    async def get(self, merge_id: UUID, *, for_update: bool = False) -> MergeRow | None:
        row = await self.fetchrow(
            f"SELECT {MERGE_COLUMNS} FROM lead_merges WHERE tenant_id = $1 AND id = $2"
            + (" FOR UPDATE" if for_update else ""),
            merge_id,
        )
        return MergeRow.of(row) if row is not None else None

    async def newer_active(self, merge: MergeRow) -> list[UUID]:
        """Merges not undone, made after `merge`, that involve any of its leads."""
        leads = [merge.survivor_id, *merge.merged_ids]
        rows = await self.fetch(
            "SELECT id FROM lead_merges WHERE tenant_id = $1 AND undone_at IS NULL"
            " AND id <> $2 AND created_at > $3"
            " AND (survivor_id = ANY($4::uuid[]) OR merged_ids && $4::uuid[])"
            " ORDER BY created_at, id",
            merge.id,
            merge.created_at,
            leads,
        )
        return [r["id"] for r in rows]

    async def mark_undone(self, merge_id: UUID, user_id: UUID | None) -> None:
        await self.execute(
            "UPDATE lead_merges SET undone_at = now(), undone_by_id = $3"
            " WHERE tenant_id = $1 AND id = $2",
            merge_id,
            user_id,
        )


# ---------------------------------------------------------------------------------------------
# Duplicate candidates


@dataclass(frozen=True, slots=True)
class Candidate:
    lead: LeadRow
    similarity: float | None = None


def _city_rule(param: int) -> str:
    """Same city, or either city unknown (`$param` is the lead's city)."""
    return f" AND (${param}::text IS NULL OR city IS NULL OR lower(city) = lower(${param}::text))"


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class DuplicateCandidates(TenantRepository):
    """Live leads the actor may see that may be the same business as a given lead."""

    _BASE = f"SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND {LIVE} AND id <> $2"

    async def with_domains(
        self,
        domains: Sequence[str],
        *,
        lead_id: UUID,
        city: str | None,
        visible_to: UUID | None,
        limit: int,
    ) -> list[Candidate]:
        """Website domain one of `domains`, same city or either unknown."""
        if not domains:
            return []
        rows = await self.fetch(
            self._BASE
            + " AND domain = ANY($3::text[])"
            + _city_rule(4)
            + _visibility(5)
            + " ORDER BY created_at, id LIMIT $6",
            lead_id,
            list(domains),
            city,
            visible_to,
            limit,
        )
        return [Candidate(LeadRow.of(r)) for r in rows]

    async def mentioning(
        self,
        text: str,
        *,
        lead_id: UUID,
        city: str | None,
        visible_to: UUID | None,
        limit: int,
    ) -> list[Candidate]:
        """`text` (a domain) anywhere in the search text, same city or either unknown. A
        superset: the service checks what matched. The trigram index names the leads that can
        match (leedz_search_lead_ids; LIKE alone cannot use an index under RLS); should it name
        too many, every lead of the tenant is read as before."""
        pattern = f"%{_like_escaped(text)}%"
        among: list[UUID] | None = None
        if like_has_trigram(pattern):
            among = await LeadSearch(self.tx).matching_ids([pattern], cap=INDEX_MAX_IDS)
            if among == []:
                return []
        rows = await self.fetch(
            self._BASE
            + " AND search_text LIKE $3"
            + _city_rule(4)
            + _visibility(5)
            + ("" if among is None else " AND id = ANY($7::uuid[])")
            + " ORDER BY created_at, id LIMIT $6",
            lead_id,
            pattern,
            city,
            visible_to,
            limit,
            *([] if among is None else [among]),
        )
        return [Candidate(LeadRow.of(r)) for r in rows]

    async def same_name(
        self,
        name_key: str,
        *,
        lead_id: UUID,
        city: str | None,
        visible_to: UUID | None,
        limit: int,
    ) -> list[Candidate]:
        rows = await self.fetch(
            self._BASE
            + " AND name_key = $3"
            + _city_rule(4)
            + _visibility(5)
            + " ORDER BY created_at, id LIMIT $6",
            lead_id,
            name_key,
            city,
            visible_to,
            limit,
        )
        return [Candidate(LeadRow.of(r)) for r in rows]

    async def similar_names(
        self,
        name_sort: str,
        *,
        lead_id: UUID,
        city: str,
        threshold: float,
        visible_to: UUID | None,
        limit: int,
    ) -> list[Candidate]:
        """Names at least `threshold` similar (pg_trgm) in the same (known) city, most similar
        first. The trigram index of `lead_search` names the leads whose name can be similar
        (leedz_similar_name_lead_ids: `%` alone cannot use an index under RLS); should it name
        too many, every lead of the tenant in the city is read as before. `%` (pg_trgm's
        default threshold, lower) lets the index answer; the similarity keeps the close ones."""
        rows = await self.fetch(
            "SELECT lead_id FROM leedz_similar_name_lead_ids($2::text, $3::real, $4::int4)"
            " WHERE tenant_id = $1",
            name_sort,
            threshold,
            INDEX_MAX_IDS + 1,
        )
        among = [r["lead_id"] for r in rows] if len(rows) <= INDEX_MAX_IDS else None
        if among == []:
            return []
        rows = await self.fetch(
            f"SELECT {LEAD_COLUMNS}, similarity(name_sort, $3) AS similarity FROM leads"
            f" WHERE tenant_id = $1 AND {LIVE} AND id <> $2"
            " AND name_sort % $3 AND similarity(name_sort, $3) >= $4"
            " AND city IS NOT NULL AND lower(city) = lower($5)"
            + _visibility(6)
            + ("" if among is None else " AND id = ANY($8::uuid[])")
            + " ORDER BY similarity DESC, created_at, id LIMIT $7",
            lead_id,
            name_sort,
            threshold,
            city,
            visible_to,
            limit,
            *([] if among is None else [among]),
        )
        return [
            Candidate(
                LeadRow.of(cast(asyncpg.Record, {k: v for k, v in r.items() if k != "similarity"})),
                similarity=float(r["similarity"]),
            )
            for r in rows
        ]


# ---------------------------------------------------------------------------------------------
# Provenance


@dataclass(frozen=True, slots=True)
class LeadEvidenceRow:
    id: UUID
    job_id: UUID
    type: EvidenceType
    title: str
    source: str
    url: str | None
    snippet: str
    confidence: Confidence
    raw_data: dict[str, Any] | None
    collected_at: datetime
    fields: list[str]
    linked_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(
            **{
                **row,
                "type": EvidenceType(row["type"]),
                "confidence": Confidence(row["confidence"]),
                "fields": list(row["fields"]),
            }
        )


class LeadEvidenceRows(TenantRepository):
    async def page(
        self, lead_id: UUID, *, limit: int, before: tuple[datetime, UUID] | None
    ) -> list[LeadEvidenceRow]:
        """Newest first (collected_at, then id); `before` is the last (collected_at, id) seen.
        Up to `limit + 1` rows: one more tells there is a next page."""
        rows = await self.fetch(
            "SELECT v.id, v.job_id, v.type, v.title, v.source, v.url, v.snippet, v.confidence,"
            " v.raw_data, v.collected_at, le.fields, le.created_at AS linked_at"
            " FROM lead_evidence le JOIN evidence v"
            " ON v.tenant_id = le.tenant_id AND v.id = le.evidence_id"
            " WHERE le.tenant_id = $1 AND le.lead_id = $2"
            " AND ($3::timestamptz IS NULL OR (v.collected_at, v.id) < ($3, $4::uuid))"
            " ORDER BY v.collected_at DESC, v.id DESC LIMIT $5",
            lead_id,
            before[0] if before else None,
            before[1] if before else None,
            limit + 1,
        )
        return [LeadEvidenceRow.of(r) for r in rows]
