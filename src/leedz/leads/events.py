"""Domain events of leads, published after commit; the gateway emits them on `/app`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


class LeadChange(enum.StrEnum):
    CREATED = "lead:created"
    UPDATED = "lead:updated"
    DELETED = "lead:deleted"
    MERGED = "lead:merged"


@dataclass(frozen=True)
class LeadChanged:
    """A lead was created, changed, deleted (or restored: `updated`), or others were merged
    into it. `owner_id` lets the gateway show it only to those who may see it (a SALES member
    of a tenant with `salesSeeAllLeads: false` sees their own and unassigned leads only);
    `previous_owner_id` tells the one who lost it that it left their view."""

    tenant_id: UUID
    lead_id: UUID
    change: LeadChange
    owner_id: UUID | None
    payload: dict[str, Any]
    previous_owner_id: UUID | None = None
    merged_ids: tuple[UUID, ...] = field(default_factory=tuple)
