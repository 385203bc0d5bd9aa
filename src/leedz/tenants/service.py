"""Tenants: creation (the creator becomes OWNER), the current tenant and its settings, the
caller's tenants."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any
from uuid import UUID

from pydantic.alias_generators import to_camel

from leedz.access.context import Actor, RequestMeta
from leedz.audit import service as audit
from leedz.errors import Conflict, NotFound, QuotaExceeded
from leedz.kit.db import Tx
from leedz.plans.repository import PlanLimitsRow
from leedz.tenants.events import TenantSettingsChanged
from leedz.tenants.repository import TenantChanges, TenantRow, Tenants, TenantSettings
from leedz.tenants.schemas import TenantCreate, TenantOut, TenantUpdate, TenantWithRole
from leedz.users.repository import Users

DEFAULT_PLAN = "FREE"


class SlugTaken(Conflict):
    code, title = "slug_taken", "Slug already taken"


def _slug_from(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "tenant"
    return f"{base}-{secrets.token_hex(3)}"


async def create_tenant(
    tx: Tx, *, owner_id: UUID, body: TenantCreate, meta: RequestMeta
) -> TenantOut:
    """Create a tenant on the FREE plan with `owner_id` as OWNER; the transaction moves into it."""
    tenant_id = uuid.uuid4()
    # A tenant row is visible and writable only inside its own context (RLS on `id`).
    await tx.set_context(tenant_id=tenant_id, user_id=owner_id)
    tenants = Tenants(tx)
    if not await tenants.insert(
        tenant_id=tenant_id,
        name=body.name,
        slug=body.slug or _slug_from(body.name),
        plan=DEFAULT_PLAN,
    ):
        raise SlugTaken("That slug is taken; choose another")
    await tenants.add_owner(tenant_id, owner_id)
    await audit.record(
        tx,
        "tenant.created",
        user_id=owner_id,
        meta=meta,
        entity_type="tenant",
        entity_id=tenant_id,
        details={"name": body.name},
    )
    return await current_tenant(tx)


async def create_own_tenant(
    tx: Tx, actor: Actor, body: TenantCreate, *, max_free: int
) -> TenantOut:
    """A tenant the caller asked for: on the FREE plan, so at most `max_free` of them owned."""
    # Locked: two concurrent requests cannot both pass the count.
    await Users(tx).lock(actor.user_id)
    owned = await Tenants(tx).owned_on_plan(actor.user_id, DEFAULT_PLAN)
    if owned >= max_free:
        raise QuotaExceeded(
            f"You already own {owned} {DEFAULT_PLAN} workspaces, the most one person may own;"
            " upgrade one, or leave one",
            quota="freeWorkspaces",
            limit=max_free,
            used=owned,
        )
    tenant = await create_tenant(tx, owner_id=actor.user_id, body=body, meta=actor.meta)
    # Back to the caller's tenant: the request's transaction stays theirs.
    await tx.set_context(tenant_id=actor.tenant_id, user_id=actor.user_id)
    return tenant


async def current_tenant(tx: Tx) -> TenantOut:
    """The tenant the transaction is scoped to."""
    row = await Tenants(tx).get(tx.current_tenant)
    if row is None:
        raise NotFound("Tenant not found")
    return TenantOut.model_validate(row)


async def lock_current(tx: Tx) -> None:
    """Hold the current tenant's row until commit: membership changes, seat counts and
    last-owner checks of one tenant then run one at a time (no deadlock, no over-booking)."""
    await Tenants(tx).lock(tx.current_tenant)


async def my_tenants(tx: Tx, actor: Actor) -> list[TenantWithRole]:
    """Every tenant the caller belongs to, with their role in it."""
    rows = await Tenants(tx).of_user(actor.user_id)
    return [TenantWithRole.model_validate(r) for r in rows]


async def settings(tx: Tx) -> TenantSettings:
    """The current tenant's settings, for the features that follow them (leads: the country of
    a phone without a country code, what SALES members see; exports: time zone, language)."""
    found = await Tenants(tx).settings(tx.current_tenant)
    if found is None:
        raise NotFound("Tenant not found")
    return found


async def settings_and_plan(tx: Tx) -> tuple[TenantSettings, PlanLimitsRow]:
    """The current tenant's settings and its plan's limits, read together (a lead's creation
    needs both: the default country of its phones, the lead quota)."""
    found = await Tenants(tx).settings_and_plan(tx.current_tenant)
    if found is None:
        raise NotFound("Tenant not found")
    return found


def _changes(before: TenantRow, body: TenantUpdate) -> dict[str, tuple[Any, Any]]:
    """What `body` asks for that differs from `before`: {column: (from, to)}."""
    current = {
        "name": before.name,
        "default_country": before.settings.default_country,
        "timezone": before.settings.timezone,
        "sales_see_all_leads": before.settings.sales_see_all_leads,
        "language": before.settings.language,
    }
    wanted: dict[str, Any] = {"name": body.name}
    if body.settings is not None:
        wanted |= body.settings.model_dump()
    return {
        column: (current[column], value)
        for column, value in wanted.items()
        if value is not None and value != current[column]
    }


async def update_tenant(tx: Tx, actor: Actor, body: TenantUpdate) -> TenantOut:
    """Rename the current tenant, change its settings; one audit row lists what changed."""
    tenants = Tenants(tx)
    # Locked: the audit's `from` values are the ones this update replaces.
    before = await tenants.get(actor.tenant_id, for_update=True)
    if before is None:
        raise NotFound("Tenant not found")
    changes = _changes(before, body)
    if changes:
        await tenants.update(
            actor.tenant_id, TenantChanges(**{column: to for column, (_, to) in changes.items()})
        )
        await audit.record(
            tx,
            "tenant.updated",
            actor=actor,
            entity_type="tenant",
            entity_id=actor.tenant_id,
            details={
                "changes": {
                    to_camel(column): {"from": old, "to": new}
                    for column, (old, new) in changes.items()
                }
            },
        )
        changed_settings = frozenset(to_camel(c) for c in changes if c != "name")
        if changed_settings:
            tx.publish(TenantSettingsChanged(tenant_id=actor.tenant_id, changed=changed_settings))
    return await current_tenant(tx)
