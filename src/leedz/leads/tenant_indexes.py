"""A trigram index of its own for each large tenant: partial GIN indexes on `lead_search`.

The shared index `(tenant_id, search_text gin_trgm_ops)` answers a q by intersecting the
trigrams' posting lists with the tenant's own entry, which lists every row of the tenant: at
1,000,000 leads that read made about half of each lookup, whatever the q (docs/search.md,
"A tenant's own index"). For a tenant with at least `min_leads` leads, this task builds
`ix_lead_search_for_<tenant id, hex>`: `search_text gin_trgm_ops WHERE tenant_id = '<id>'`.
`leedz_search_lead_ids` names the tenant as a literal (migration 20261203_1700), so the planner
can prove the predicate and takes the smaller index; other tenants keep the shared one.

A pass (`index_once`): drops an index a failed build left invalid; builds the missing indexes;
drops those of tenants gone or shrunk under half of `min_leads` (so a tenant near the line is
not built and dropped in turn). Builds and drops are CONCURRENTLY: writes to `lead_search` (every
lead insert, through its trigger) go on meanwhile. They need the table's owner, so the pass
connects with the URL the migrations use, not the request pool's. A session advisory lock keeps a
second instance from passing at the same time. Every instance runs one (`run`); operators run a
pass with `leedz leads index-search`.

The price: the large tenant's writes maintain a second trigram index.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import structlog

from leedz.kit.background import FIRST_PASS_WITHIN, every
from leedz.kit.urls import driver_dsn
from leedz.leads.repository import TenantSearchIndexes, index_name, is_tenant_index

log = structlog.get_logger("leedz.leads.tenant_indexes")

__all__ = ["IndexPass", "TenantSearchIndexer", "index_name", "index_once", "is_tenant_index"]

LOCK = "leedz.lead_search_tenant_indexes"


@dataclass
class IndexPass:
    built: list[UUID] = field(default_factory=list)
    dropped: list[UUID] = field(default_factory=list)
    skipped: bool = False  # another instance was passing


async def index_once(conn: asyncpg.Connection, *, min_leads: int) -> IndexPass:
    """One pass on `conn`, a connection of the table's owner outside any transaction."""
    done = IndexPass()
    indexes = TenantSearchIndexes(conn)
    if not await indexes.lock(LOCK):
        done.skipped = True
        return done
    try:
        existing = await indexes.existing()
        for tenant_id, valid in list(existing.items()):
            if not valid:  # a build cut short: drop it, and build it again below if due
                await indexes.drop(tenant_id)
                del existing[tenant_id]
        sizes = await indexes.sizes(at_least=max(min_leads // 2, 1))
        for tenant_id, leads in sorted(sizes.items(), key=lambda item: -item[1]):
            if leads >= min_leads and tenant_id not in existing:
                await indexes.build(tenant_id)
                done.built.append(tenant_id)
        for tenant_id in existing:
            if tenant_id not in sizes:
                await indexes.drop(tenant_id)
                done.dropped.append(tenant_id)
    finally:
        # A pass cancelled mid-statement (the server stopping) may leave the connection unable
        # to unlock; closing it releases the session's lock anyway, and the cancellation must
        # go on, not give way to this error.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await indexes.unlock(LOCK)
    if done.built or done.dropped:
        log.info(
            "tenant_search_indexes",
            built=[str(t) for t in done.built],
            dropped=[str(t) for t in done.dropped],
        )
    return done


class TenantSearchIndexer:
    """Every instance's periodic pass (`run`), on a connection of its own for each pass."""

    def __init__(self, owner_url: str, *, min_leads: int, interval: float) -> None:
        self._dsn = driver_dsn(owner_url)
        self.min_leads = min_leads
        self.interval = interval

    async def index_once(self) -> IndexPass:
        conn = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "leedz-tenant-indexes"}
        )
        try:
            return await index_once(conn, min_leads=self.min_leads)
        finally:
            await conn.close()

    async def run(self) -> None:
        """Pass until cancelled, the first within a minute of the start, as the trash purge."""
        await every(
            self.interval,
            self.index_once,
            failed="tenant_search_indexes_failed",
            logger=log,
            first_within=FIRST_PASS_WITHIN,
        )
