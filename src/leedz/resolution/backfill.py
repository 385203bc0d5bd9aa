"""The backfill behind `leedz leads resolve`: a tenant's stored evidence resolved into leads.

For evidence that arrived before resolution existed (or while it was switched off,
`LEEDZ_RESOLUTION=off`). Per tenant, one run at a time (an advisory lock held by the run's
reading transaction; a second run skips the tenant and says so):

- A reading transaction streams, through a server-side cursor, every item still to resolve, in
  the order `(created_at, collected_at, id)`: evidence of a business-record type, of a SEARCH or
  SURVEY job, linked to no lead, after the tenant's checkpoint (`resolution_backfills`).
- Each `batch` of them is resolved in a transaction of its own with
  `service.resolve_stored`, exactly as an upload resolves (locks, rules, field policy, quota,
  timeline, events, audit), and the checkpoint moves to the batch's last item in that same
  transaction. A run killed mid-way leaves the checkpoint after the last batch that committed;
  the next run goes on from there, in the same order and the same batches, so the two make
  what one run makes. A run after a complete one finds nothing after the checkpoint: it changes
  nothing.
- `restart` forgets the checkpoint first: every item not linked to a lead is resolved again
  (one that made no lead, `skipped` or `over_quota`, may make one now).

The timeline names no actor (neither a person nor an agent): the entries are the system's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from uuid import UUID

from leedz.evidence.schemas import LeadAction
from leedz.kit.db import Database
from leedz.resolution.repository import Backfills, Position, Tally
from leedz.resolution.service import ResolutionBusy, ResolvingActor, resolve_stored

BATCH = 200
# A batch whose leads other writers keep taking (409 resolution_busy) is tried this often.
BUSY_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class TenantBackfill:
    """One tenant's run: what it found to do, what it did, the checkpoint's totals since the
    backfill started there."""

    tenant_id: UUID
    pending: int = 0
    done: int = 0
    tally: Tally = field(default_factory=Tally)
    total: Tally = field(default_factory=Tally)
    batches: int = 0
    busy: bool = False  # another run holds the tenant


OnBatch = Callable[[TenantBackfill], None]


def _add(tally: Tally, other: Tally) -> Tally:
    return Tally(
        resolved=tally.resolved + other.resolved,
        created=tally.created + other.created,
        joined=tally.joined + other.joined,
        over_quota=tally.over_quota + other.over_quota,
    )


async def backfill_tenant(
    database: Database,
    tenant_id: UUID,
    *,
    batch: int = BATCH,
    restart: bool = False,
    on_batch: OnBatch | None = None,
) -> TenantBackfill:
    """Resolve the tenant's evidence still to resolve, `batch` items per transaction, from its
    checkpoint on (module docstring). `on_batch` hears after each committed batch."""
    if batch < 1:
        raise ValueError("a batch holds at least one item")
    async with database.transaction(tenant_id=tenant_id) as reader:
        backfills = Backfills(reader)
        if not await backfills.try_lock():
            return TenantBackfill(tenant_id, busy=True)
        if restart:
            async with database.transaction(tenant_id=tenant_id) as tx:
                await Backfills(tx).forget()
        checkpoint = await backfills.checkpoint()
        after = checkpoint.after if checkpoint is not None else None
        state = TenantBackfill(
            tenant_id,
            pending=await backfills.pending(after),
            total=checkpoint.tally if checkpoint is not None else Tally(),
        )
        chunk: list[Position] = []
        async for position in backfills.positions(after, prefetch=batch):
            chunk.append(position)
            if len(chunk) == batch:
                state = await _batch(database, state, chunk, on_batch)
                chunk = []
        if chunk:
            state = await _batch(database, state, chunk, on_batch)
    return state


async def _batch(
    database: Database, state: TenantBackfill, chunk: list[Position], on_batch: OnBatch | None
) -> TenantBackfill:
    for attempt in range(BUSY_ATTEMPTS):
        try:
            async with database.transaction(tenant_id=state.tenant_id) as tx:
                results = await resolve_stored(tx, [p.id for p in chunk], actor=ResolvingActor())
                actions = [r.action for r in results]
                tally = Tally(
                    resolved=len(chunk),
                    created=actions.count(LeadAction.CREATED),
                    joined=actions.count(LeadAction.JOINED),
                    over_quota=actions.count(LeadAction.OVER_QUOTA),
                )
                await Backfills(tx).advance(chunk[-1], tally)
            break
        except ResolutionBusy:
            if attempt == BUSY_ATTEMPTS - 1:
                raise
    state = replace(
        state,
        done=state.done + len(chunk),
        tally=_add(state.tally, tally),
        total=_add(state.total, tally),
        batches=state.batches + 1,
    )
    if on_batch is not None:
        on_batch(state)
    return state
