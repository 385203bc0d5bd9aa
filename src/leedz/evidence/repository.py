from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leedz.kit.repository import TenantRepository


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One evidence row ready to insert: validated, sanitized, hashed."""

    type: str
    title: str
    source: str
    url: str | None
    snippet: str
    confidence: str
    raw_data: str | None  # canonical JSON text
    hash: str
    size_bytes: int
    collected_at: datetime


class EvidenceRows(TenantRepository):
    async def job_exists(self, job_id: UUID) -> bool:
        exists: bool = await self.fetchval(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2)", job_id
        )
        return exists

    async def insert_new(self, job_id: UUID, rows: Sequence[EvidenceRow]) -> dict[str, UUID]:
        """Insert `rows` in one statement; returns hash -> id of those actually inserted.

        A row whose hash the job already has (stored earlier, or earlier in `rows`) is skipped
        by `ON CONFLICT DO NOTHING`, also against a concurrent upload of the same item.
        """
        if not rows:
            return {}
        records = await self.fetch(
            "INSERT INTO evidence (tenant_id, job_id, type, title, source, url, snippet,"
            " confidence, raw_data, hash, size_bytes, collected_at)"
            " SELECT $1, $2, r.type::evidence_type, r.title, r.source, r.url, r.snippet,"
            " r.confidence::confidence, r.raw_data::jsonb, r.hash, r.size_bytes, r.collected_at"
            " FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
            " $8::text[], $9::text[], $10::text[], $11::int[], $12::timestamptz[]) WITH ORDINALITY"
            " AS r(type, title, source, url, snippet, confidence, raw_data, hash, size_bytes,"
            " collected_at, position)"
            " ORDER BY r.position"
            " ON CONFLICT (tenant_id, job_id, hash) DO NOTHING"
            " RETURNING id, hash",
            job_id,
            [r.type for r in rows],
            [r.title for r in rows],
            [r.source for r in rows],
            [r.url for r in rows],
            [r.snippet for r in rows],
            [r.confidence for r in rows],
            [r.raw_data for r in rows],
            [r.hash for r in rows],
            [r.size_bytes for r in rows],
            [r.collected_at for r in rows],
        )
        return {record["hash"]: record["id"] for record in records}

    async def ids_of(self, job_id: UUID, hashes: Sequence[str]) -> dict[str, UUID]:
        """hash -> id of the job's rows with those hashes (items uploaded before)."""
        if not hashes:
            return {}
        records = await self.fetch(
            "SELECT id, hash FROM evidence WHERE tenant_id = $1 AND job_id = $2"
            " AND hash = ANY($3::text[])",
            job_id,
            list(set(hashes)),
        )
        return {record["hash"]: record["id"] for record in records}
