"""The lease reaper: lets go of leases that expired (the agent died, lost its network, froze).

Every instance runs one. A pass asks, as the reaper role (which sees nothing but RUNNING jobs
with an expired lease: migration 20261125_1200), which tenants have expired leases, then
releases them in one short transaction per tenant as the request role. `FOR UPDATE SKIP LOCKED`
lets several instances reap at once without waiting on each other or releasing a job twice, and
an agent completing at the same moment either holds the row (its completion stands) or finds
its lease gone (`lease_stale`).
"""

from __future__ import annotations

import structlog

from leedz.kit.background import every
from leedz.kit.db import Database
from leedz.leases.repository import Leases, tenants_with_expired_leases
from leedz.leases.service import publish_released

log = structlog.get_logger("leedz.reaper")

BATCH = 500


class LeaseReaper:
    def __init__(self, database: Database, *, role: str, interval: float) -> None:
        self.database = database
        self.role = role
        self.interval = interval

    async def reap_once(self) -> int:
        """Release the expired leases found now (a batch per tenant); the number released."""
        async with self.database.transaction(role=self.role) as tx:
            tenants = await tenants_with_expired_leases(tx, BATCH)
        released = 0
        for tenant_id in tenants:
            async with self.database.transaction(tenant_id=tenant_id) as tx:
                rows = await Leases(tx).release_expired(BATCH)
                publish_released(tx, rows)
            released += len(rows)
        if released:
            log.info("leases_released", count=released, tenants=len(tenants))
        return released

    async def run(self) -> None:
        """Reap until cancelled; a failed pass (database down) is logged and retried."""
        await every(self.interval, self.reap_once, failed="reaper_pass_failed", logger=log)
