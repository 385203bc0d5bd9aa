"""SQL of the trash purge. `purge_batch` runs as the purger role, across tenants, and sees
nothing but leads long in the trash (migration 20261201_1600); the clean-up after it runs per
tenant, as the request role."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository

# One purge at a time across instances: the others skip their pass (a transaction-level
# advisory lock, which needs no privilege).
PURGE_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('leedz.trash_purge'))"


@dataclass(frozen=True, slots=True)
class PurgedLead:
    tenant_id: UUID
    id: UUID


async def purge_batch(tx: Tx, *, retention_days: int, limit: int) -> list[PurgedLead] | None:
    """Delete up to `limit` leads trashed more than `retention_days` ago, oldest first, in any
    tenant; their keys, timeline, list memberships, evidence links and merge records go with
    them. None when another purge holds the lock."""
    if not await tx.raw.fetchval(PURGE_LOCK):
        return None
    rows = await tx.raw.fetch(
        "DELETE FROM leads WHERE deleted_at < now() - make_interval(days => $1) AND id IN ("
        " SELECT id FROM leads WHERE deleted_at < now() - make_interval(days => $1)"
        " ORDER BY deleted_at LIMIT $2) RETURNING tenant_id, id",
        retention_days,
        limit,
    )
    return [PurgedLead(tenant_id=row["tenant_id"], id=row["id"]) for row in rows]


class TrashCleanup(TenantRepository):
    """What the purge leaves behind in one tenant."""

    async def orphans(self) -> list[UUID]:
        """Delete the leads merged into a lead that no longer exists (purged survivors: they
        go with them; a pass cut short leaves them to the next one); their ids."""
        rows = await self.fetch(
            "DELETE FROM leads f WHERE f.tenant_id = $1 AND f.merged_into_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM leads s WHERE s.tenant_id = $1"
            " AND s.id = f.merged_into_id) RETURNING f.id"
        )
        return [row["id"] for row in rows]

    async def broken_merges(self) -> int:
        """Delete the merge records one of whose merged leads no longer exists (no undo can
        put it back); how many. A survivor's own records went with it (cascade)."""
        status = await self.execute(
            "DELETE FROM lead_merges m WHERE m.tenant_id = $1 AND EXISTS ("
            " SELECT 1 FROM unnest(m.merged_ids) AS merged(id) WHERE NOT EXISTS ("
            " SELECT 1 FROM leads l WHERE l.tenant_id = $1 AND l.id = merged.id))"
        )
        return int(status.rsplit(" ", 1)[-1])
