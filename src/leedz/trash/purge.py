"""The trash purge: deletes for good the leads in the trash longer than the retention.

Every instance runs one (`run`, every `interval` seconds); operators run a pass by hand with
`leedz leads purge-trash`. A pass deletes in batches, as the purger role, which sees nothing but
leads trashed more than a day ago in any tenant (migration 20261201_1600) and adds the
retention itself; an advisory lock keeps a second instance from purging at the same time.
Then, per tenant touched, as the request role: the leads merged into a purged lead go too, and
merge records whose merged leads are gone are dropped (nothing is left to undo); one audit row
names what went. Both are sweeps of the tenant, so a pass cut short between its two halves
leaves them to the next pass that purges there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

import structlog

from leedz.audit import service as audit
from leedz.kit.background import FIRST_PASS_WITHIN, every
from leedz.kit.db import Database
from leedz.trash.repository import TrashCleanup, purge_batch

log = structlog.get_logger("leedz.trash")

BATCH = 500


@dataclass(frozen=True)
class PurgeResult:
    leads: int
    tenants: int
    merges: int
    skipped: bool = False  # another instance was purging


class TrashPurger:
    def __init__(
        self, database: Database, *, role: str, retention_days: int, interval: float
    ) -> None:
        if retention_days < 1:
            raise ValueError("the trash keeps leads at least one day")
        self.database = database
        self.role = role
        self.retention_days = retention_days
        self.interval = interval

    async def purge_once(self) -> PurgeResult:
        """Purge what is due now, batch after batch."""
        by_tenant: dict[UUID, list[UUID]] = defaultdict(list)
        skipped = False
        while True:
            async with self.database.transaction(role=self.role) as tx:
                batch = await purge_batch(tx, retention_days=self.retention_days, limit=BATCH)
            if batch is None:
                skipped = True
                break
            for lead in batch:
                by_tenant[lead.tenant_id].append(lead.id)
            if len(batch) < BATCH:
                break
        purged, merges = sum(len(ids) for ids in by_tenant.values()), 0
        for tenant_id, lead_ids in by_tenant.items():
            folded, broken = await self._clean_up(tenant_id, lead_ids)
            purged += folded
            merges += broken
        if purged:
            log.info("trash_purged", leads=purged, tenants=len(by_tenant), merges=merges)
        return PurgeResult(leads=purged, tenants=len(by_tenant), merges=merges, skipped=skipped)

    async def _clean_up(self, tenant_id: UUID, purged: list[UUID]) -> tuple[int, int]:
        """In the tenant: the leads folded into purged ones (and into those, …), the merge
        records left without their merged leads, the audit row."""
        async with self.database.transaction(tenant_id=tenant_id) as tx:
            cleanup = TrashCleanup(tx)
            folded: list[UUID] = []
            while orphans := await cleanup.orphans():  # folded into a folded one: once more
                folded += orphans
            broken = await cleanup.broken_merges()
            await audit.record(
                tx,
                "lead.trash_purged",
                entity_type="lead",
                details={
                    "count": len(purged) + len(folded),
                    "retentionDays": self.retention_days,
                    "leadIds": [str(i) for i in [*purged, *folded]],
                },
            )
        return len(folded), broken

    async def run(self) -> None:
        """Purge until cancelled (a failed pass is logged and retried), the first pass within
        a minute of the start."""
        await every(
            self.interval,
            self.purge_once,
            failed="trash_purge_failed",
            logger=log,
            first_within=FIRST_PASS_WITHIN,
        )
