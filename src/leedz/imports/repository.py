"""SQL of imports: a batch's leads, keys and report lines in a few statements; the revert.

A batch costs a fixed number of round trips whatever its size: the new leads in one INSERT
(the rows as one JSON array, typed by `jsonb_populate_recordset` against the `leads` row type),
their keys in one, the changed leads in one UPDATE, the report lines in one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from leedz.kit.repository import TenantRepository, jsonb_text
from leedz.leads.record import Key
from leedz.leads.repository import LEAD_COLUMNS, LeadRow

# The lead columns an import writes (everything but the tenant), as `leads` names them.
INSERTED = (
    "id, name, contact_name, category, phones, emails, website, domain, social_profiles,"
    " address, city, country, lat, lng, rating, reviews_count, external_ids, status, owner_id,"
    " tags, do_not_contact, custom_fields, confidence, source_type, source_job_id,"
    " edited_fields, version, created_by_id, created_at, updated_at, last_activity_at,"
    " search_text, name_sort, name_key"
)
UPDATED = (
    "name, contact_name, category, phones, emails, website, domain, social_profiles, address,"
    " city, country, lat, lng, rating, reviews_count, external_ids, status, owner_id, tags,"
    " do_not_contact, custom_fields, confidence, edited_fields, search_text, name_sort, name_key"
)


_LEAD_COLUMNS_OF_L = ", ".join("l." + c.strip() for c in LEAD_COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class ReportLine:
    row_number: int
    action: str
    lead_id: UUID | None
    error: str | None
    added_tags: list[str]
    listed: bool


class ImportWrites(TenantRepository):
    async def clock(self) -> datetime:
        """The database's clock: a batch's leads are stamped with it (as resolution's inserts
        are), not with the worker host's, so that `createdAt` compares across writers
        (a bulk job's selection ends at the job's creation, docs/bulk.md)."""
        moment: datetime = await self.tx.raw.fetchval("SELECT clock_timestamp()")
        return moment

    async def insert_leads(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """New leads, every column given (`INSERTED`)."""
        if rows:
            await self.execute(
                f"INSERT INTO leads (tenant_id, {INSERTED}) SELECT $1, {INSERTED}"
                " FROM jsonb_populate_recordset(NULL::leads, $2::jsonb)",
                jsonb_text(list(rows)),
            )

    async def claim_keys(self, claims: Sequence[tuple[Key, UUID]]) -> int:
        """Give each key to its lead; how many were taken (fewer: another writer holds some)."""
        if not claims:
            return 0
        rows = await self.fetch(
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " SELECT $1, k.kind::lead_key_kind, k.value, k.lead_id"
            " FROM unnest($2::text[], $3::text[], $4::uuid[]) AS k(kind, value, lead_id)"
            " ON CONFLICT (tenant_id, kind, value) DO NOTHING RETURNING value",
            [key.kind.value for key, _ in claims],
            [key.value for key, _ in claims],
            [lead_id for _, lead_id in claims],
        )
        return len(rows)

    async def update_leads(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Changed leads (each with every `UPDATED` column and its id): a new version."""
        if rows:
            assignments = ", ".join(f"{c.strip()} = t.{c.strip()}" for c in UPDATED.split(","))
            await self.execute(
                f"UPDATE leads AS l SET {assignments}, version = l.version + 1,"
                " updated_at = now(), last_activity_at = now()"
                " FROM jsonb_populate_recordset(NULL::leads, $2::jsonb) AS t"
                " WHERE l.tenant_id = $1 AND l.id = t.id",
                jsonb_text(list(rows)),
            )

    async def listed(self, list_id: UUID, lead_ids: Sequence[UUID]) -> set[UUID]:
        """Those of `lead_ids` already on the list."""
        if not lead_ids:
            return set()
        rows = await self.fetch(
            "SELECT lead_id FROM list_members WHERE tenant_id = $1 AND list_id = $2"
            " AND lead_id = ANY($3::uuid[])",
            list_id,
            list(lead_ids),
        )
        return {r["lead_id"] for r in rows}


class ImportRows(TenantRepository):
    """The report lines of an import (`import_rows`)."""

    async def insert(self, job_id: UUID, lines: Sequence[ReportLine]) -> None:
        if not lines:
            return
        await self.execute(
            "INSERT INTO import_rows"
            " (tenant_id, job_id, row_number, action, lead_id, error, added_tags, listed)"
            " SELECT $1, $2, r.row_number, r.action, r.lead_id, r.error,"
            " ARRAY(SELECT jsonb_array_elements_text(r.added_tags)), r.listed"
            " FROM unnest($3::int[], $4::text[], $5::uuid[], $6::text[], $7::jsonb[], $8::bool[])"
            " AS r(row_number, action, lead_id, error, added_tags, listed)",
            job_id,
            [line.row_number for line in lines],
            [line.action for line in lines],
            [line.lead_id for line in lines],
            [line.error for line in lines],
            [jsonb_text(line.added_tags) for line in lines],
            [line.listed for line in lines],
        )

    async def touched(self, job_id: UUID, lead_ids: Sequence[UUID]) -> set[UUID]:
        """Those of `lead_ids` an earlier row of the job created, updated or joined."""
        if not lead_ids:
            return set()
        rows = await self.fetch(
            "SELECT DISTINCT lead_id FROM import_rows WHERE tenant_id = $1 AND job_id = $2"
            " AND lead_id = ANY($3::uuid[]) AND action IN ('created', 'updated', 'joined')",
            job_id,
            list(lead_ids),
        )
        return {r["lead_id"] for r in rows}

    async def lines(self, job_id: UUID, *, batch: int = 5_000) -> AsyncIterator[ReportLine]:
        """Every line of the job, by row number, read `batch` at a time (keyset)."""
        after = 0
        while True:
            rows = await self.fetch(
                "SELECT row_number, action, lead_id, error, added_tags, listed FROM import_rows"
                " WHERE tenant_id = $1 AND job_id = $2 AND row_number > $3"
                " ORDER BY row_number LIMIT $4",
                job_id,
                after,
                batch,
            )
            for r in rows:
                yield ReportLine(**r)
            if len(rows) < batch:
                return
            after = rows[-1]["row_number"]

    async def delete(self, job_id: UUID) -> None:
        await self.execute("DELETE FROM import_rows WHERE tenant_id = $1 AND job_id = $2", job_id)

    # -- revert ------------------------------------------------------------------------------

    async def created_count(self, job_id: UUID) -> int:
        return int(
            await self.fetchval(
                "SELECT count(*) FROM import_rows WHERE tenant_id = $1 AND job_id = $2"
                " AND action = 'created'",
                job_id,
            )
        )

    async def trash_created(self, job_id: UUID) -> list[LeadRow]:
        """The live leads the job created, to the trash; those merged since, or already in the
        trash, are left as they are."""
        rows = await self.fetch(
            "UPDATE leads AS l SET deleted_at = now(), version = l.version + 1,"
            " updated_at = now(), last_activity_at = now()"
            " FROM import_rows AS r WHERE l.tenant_id = $1 AND r.tenant_id = $1"
            " AND r.job_id = $2 AND r.action = 'created' AND l.id = r.lead_id"
            " AND l.deleted_at IS NULL AND l.merged_into_id IS NULL"
            f" RETURNING {_LEAD_COLUMNS_OF_L}",
            job_id,
        )
        return [LeadRow.of(r) for r in rows]

    async def remove_tags(self, job_id: UUID) -> list[LeadRow]:
        """Take off each lead (of an `updated` or `joined` row) the tags the job added to it,
        compared case-insensitively; a tag a person added again since stays only if spelled
        differently. The leads whose tags changed."""
        rows = await self.fetch(
            "WITH added AS (SELECT lead_id, array_agg(DISTINCT lower(t)) AS tags"
            " FROM import_rows, unnest(added_tags) AS t WHERE tenant_id = $1 AND job_id = $2"
            " AND action IN ('updated', 'joined') AND lead_id IS NOT NULL GROUP BY lead_id)"
            " UPDATE leads AS l SET tags = ARRAY(SELECT x FROM unnest(l.tags) WITH ORDINALITY"
            " AS u(x, n) WHERE lower(x) <> ALL(a.tags) ORDER BY n),"
            " version = l.version + 1, updated_at = now()"
            " FROM added AS a WHERE l.tenant_id = $1 AND l.id = a.lead_id"
            " AND l.merged_into_id IS NULL"
            " AND EXISTS (SELECT 1 FROM unnest(l.tags) AS x WHERE lower(x) = ANY(a.tags))"
            f" RETURNING {_LEAD_COLUMNS_OF_L}",
            job_id,
        )
        return [LeadRow.of(r) for r in rows]

    async def unlist(self, job_id: UUID, list_id: UUID) -> list[UUID]:
        """Take off the list the leads the job put on it (not those already there)."""
        rows = await self.fetch(
            "DELETE FROM list_members AS m USING import_rows AS r"
            " WHERE m.tenant_id = $1 AND r.tenant_id = $1 AND r.job_id = $2 AND r.listed"
            " AND m.list_id = $3 AND m.lead_id = r.lead_id RETURNING m.lead_id",
            job_id,
            list_id,
        )
        return [r["lead_id"] for r in rows]


@dataclass(frozen=True, slots=True)
class JobState:
    """An import job as its revert reads it."""

    id: UUID
    type: str
    status: str
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    completed_at: datetime | None


class ImportJobs(TenantRepository):
    async def lock(self, job_id: UUID) -> JobState | None:
        row = await self.fetchrow(
            "SELECT id, type::text AS type, status::text AS status, input, output, completed_at"
            " FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            job_id,
        )
        return JobState(**row) if row is not None else None

    async def mark_reverted(self, job_id: UUID, details: Mapping[str, Any]) -> None:
        """Record the revert in the job's output (`reverted`), so a second one is refused."""
        await self.execute(
            "UPDATE jobs SET output = coalesce(output, '{}'::jsonb)"
            " || jsonb_build_object('reverted', $3::jsonb), updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2",
            job_id,
            jsonb_text(dict(details)),
        )
