"""Security events of a user, recorded in every tenant they belong to.

Audit rows are tenant-owned; an event about the user rather than one tenant (a failed sign-in, a
password reset, a verified address) is written in each of the user's tenants, so that each
tenant's owners see it.
"""

from __future__ import annotations

from uuid import UUID

from leedz.access.context import RequestMeta
from leedz.audit import service as audit
from leedz.kit.db import Tx
from leedz.tenants.repository import Tenants


async def audit_everywhere(tx: Tx, user_id: UUID, event: str, meta: RequestMeta) -> None:
    """Record `event` in every tenant the user belongs to (the transaction moves through them;
    the caller moves it back if it needs to)."""
    await tx.set_context(tenant_id=None, user_id=user_id)
    for membership in await Tenants(tx).of_user(user_id):
        await tx.set_context(tenant_id=membership.id, user_id=user_id)
        await audit.record(
            tx, event, user_id=user_id, meta=meta, entity_type="user", entity_id=user_id
        )
