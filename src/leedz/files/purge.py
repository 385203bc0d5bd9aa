"""The file purge: deletes the files past their expiry, rows and objects.

Every instance runs one (`run`, every `interval` seconds); operators run a pass by hand with
`leedz files purge`. A pass works in batches, as the purger role, which sees nothing but
expired files, in any tenant (migration 20261201_1820): a batch deletes its rows, then their
objects, then commits — an object that cannot be deleted (the store is away) rolls the batch
back, to be retried by the next pass, so no row ever outlives its object unseen and no row is
dropped while its object stays. An advisory lock keeps a second instance from purging at the
same time.

`sweep_orphans` deletes the objects that no row names, written more than a day ago: a
transaction that rolled back after storing a file's object (a job's batch that lost its lease)
leaves one, and so does a deleted workspace (its rows went with it). It lists the store, then
asks each tenant's transaction (as the request role) which of those files it still has; the
day's margin is far beyond any transaction that could still be about to commit a row. It
runs once a day on each instance, and with every `leedz files purge`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog

from leedz.files.repository import Files, delete_expired
from leedz.files.storage import ObjectKey, Storage
from leedz.kit.background import FIRST_PASS_WITHIN, every
from leedz.kit.db import Database

log = structlog.get_logger("leedz.files")

BATCH = 200
ORPHAN_AGE = timedelta(days=1)
SWEEP_EVERY_SECONDS = 86_400.0


@dataclass(frozen=True)
class PurgeResult:
    files: int
    tenants: int
    skipped: bool = False  # another instance was purging


class FilePurger:
    def __init__(self, database: Database, storage: Storage, *, role: str, interval: float) -> None:
        self.database = database
        self.storage = storage
        self.role = role
        self.interval = interval

    async def purge_once(self) -> PurgeResult:
        """Purge what has expired by now, batch after batch."""
        purged, skipped = 0, False
        tenants: set[UUID] = set()
        while True:
            async with self.database.transaction(role=self.role) as tx:
                batch = await delete_expired(tx, limit=BATCH)
                if batch is None:
                    skipped = True
                    break
                for expired in batch:
                    key = ObjectKey.parse(expired.storage_key)
                    if key.tenant_id != expired.tenant_id:
                        raise RuntimeError(f"file {expired.id}: storage key outside its tenant")
                    await self.storage.delete(key)
            purged += len(batch)
            tenants.update(expired.tenant_id for expired in batch)
            if len(batch) < BATCH:
                break
        if purged:
            log.info("files_purged", files=purged, tenants=len(tenants))
        return PurgeResult(files=purged, tenants=len(tenants), skipped=skipped)

    async def sweep_orphans(self, *, older_than: timedelta = ORPHAN_AGE) -> int:
        """Delete the objects written before `older_than` ago that no row names; how many."""
        by_tenant: dict[UUID, list[ObjectKey]] = defaultdict(list)
        for key in await self.storage.keys_older_than(datetime.now(UTC) - older_than):
            by_tenant[key.tenant_id].append(key)
        swept = 0
        for tenant_id, keys in by_tenant.items():
            for start in range(0, len(keys), BATCH):
                batch = keys[start : start + BATCH]
                async with self.database.transaction(tenant_id=tenant_id) as tx:
                    kept = await Files(tx).existing([key.file_id for key in batch])
                for key in batch:
                    if key.file_id not in kept:
                        await self.storage.delete(key)
                        swept += 1
        if swept:
            log.info("file_orphans_swept", objects=swept)
        return swept

    async def run(self) -> None:
        """Purge until cancelled; a failed pass (database or store away) is logged and
        retried. The first pass comes within a minute of the start; orphans are swept every
        SWEEP_EVERY_SECONDS."""
        swept_at: float | None = None

        async def purge_and_sweep() -> None:
            nonlocal swept_at
            await self.purge_once()
            if swept_at is None or time.monotonic() - swept_at > SWEEP_EVERY_SECONDS:
                swept_at = time.monotonic()
                await self.sweep_orphans()

        await every(
            self.interval,
            purge_and_sweep,
            failed="file_purge_failed",
            logger=log,
            first_within=FIRST_PASS_WITHIN,
        )
