"""Domain events of bulk jobs, published after each batch's commit; the gateway emits them on
`/app` as `leads:bulk` (docs/realtime.md)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from leedz.leads.events import LeadChange
from leedz.leads.models import LeadStatus


@dataclass(frozen=True)
class LeadsChangedInBulk:
    """One batch of a bulk job changed these leads: one event per batch (up to a thousand
    leads) rather than one `LeadChanged` each, which would flood the sockets for a job of
    100,000. `by_owner` groups the ids by owner (None: unassigned), so that the gateway tells
    each socket only of the leads it may see; `status` is the new one of a status update."""

    tenant_id: UUID
    job_id: UUID
    change: LeadChange  # UPDATED (a status update) or DELETED (to the trash)
    by_owner: dict[UUID | None, tuple[UUID, ...]]
    status: LeadStatus | None = None
