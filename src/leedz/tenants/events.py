"""The tenants feature's domain events (delivered after commit, see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class TenantSettingsChanged:
    """Published after commit when a tenant's settings changed (`changed`: their wire names,
    e.g. `salesSeeAllLeads`). The gateway regroups the tenant's sockets when what SALES members
    see changed."""

    tenant_id: UUID
    changed: frozenset[str]
