"""Domain events (delivered after commit) become Socket.IO emits to rooms.

Emits go through the client manager, so with Redis they reach sockets on every instance.

A lead change goes to the rooms of the sockets that may see the lead (rooms.lead_audience): the
all-seeing ones, and the own-only sockets of its owner (or every own-only socket, unassigned).
When a change takes a lead out of an own-only socket's view (given to another member), those
sockets are told `lead:hidden` — exactly those: the emit leaves out whoever still sees it.
"""

from __future__ import annotations

from uuid import UUID

from leedz.agents.events import AgentRevoked
from leedz.auth.events import SessionsEnded
from leedz.bulk.events import LeadsChangedInBulk
from leedz.gateway import rooms
from leedz.gateway.server import Gateway
from leedz.jobs.events import JobCancelRequested, JobCreated, JobsAvailable, JobUpdated
from leedz.jobs.models import JobStatus
from leedz.kit.events import EventBus
from leedz.leads.events import LeadChange, LeadChanged
from leedz.members.events import MemberRoleChanged, MembershipEnded
from leedz.tenants.events import TenantSettingsChanged

HIDDEN = "lead:hidden"
BULK = "leads:bulk"


def _hidden(event: LeadChanged) -> tuple[list[str], UUID | None] | None:
    """The leads this change takes out of own-only sockets' view, and whose those sockets were
    (None: every own-only socket's, the lead being unassigned until now); None if no one's."""
    owner = event.owner_id
    if owner is None:
        return None  # unassigned now: everyone sees it
    if event.change is LeadChange.UPDATED and event.previous_owner_id != owner:
        return [str(event.lead_id)], event.previous_owner_id
    if event.change is LeadChange.MERGED and event.merged_ids:
        # Folded into a lead only the survivor's audience sees: the own-only sockets that saw
        # some of them (unassigned, or theirs) drop them. Ids only, harmless to the others.
        return [str(i) for i in event.merged_ids], None
    return None


async def emit_lead_change(gateway: Gateway, event: LeadChanged) -> None:
    """`lead:created|updated|deleted|merged` to those who may see the lead, then `lead:hidden`
    to those who saw it and no longer do."""
    sio, tenant = gateway.sio, event.tenant_id
    payload: dict[str, object] = {"lead": event.payload}
    if event.change is LeadChange.MERGED:
        payload["mergedIds"] = [str(i) for i in event.merged_ids]
    await sio.emit(
        event.change.value,
        payload,
        room=rooms.lead_audience(tenant, event.owner_id),
        namespace=rooms.APP_NAMESPACE,
    )
    hidden = _hidden(event)
    if hidden is None or event.owner_id is None:
        return
    ids, previous = hidden
    if previous is not None:
        # It was `previous`'s: their own-only sockets lose it (the new owner is another).
        await sio.emit(
            HIDDEN,
            {"ids": ids},
            room=rooms.leads_own_user_room(tenant, previous),
            namespace=rooms.APP_NAMESPACE,
        )
        return
    # Every own-only socket saw it, but the new owner's still does.
    await sio.manager.emit_excluding(
        HIDDEN,
        {"ids": ids},
        namespace=rooms.APP_NAMESPACE,
        room=[rooms.leads_own_room(tenant)],
        excluding=[rooms.leads_own_user_room(tenant, event.owner_id)],
    )


async def emit_job_updated(gateway: Gateway, event: JobUpdated) -> None:
    """`job:updated {id, status, progress}` to the job's tenant's app sockets."""
    await gateway.sio.emit(
        "job:updated",
        {"id": str(event.job_id), "status": event.status.value, "progress": event.progress},
        room=rooms.tenant_room(event.tenant_id),
        namespace=rooms.APP_NAMESPACE,
    )


async def emit_bulk_change(gateway: Gateway, event: LeadsChangedInBulk) -> None:
    """One batch of a bulk job: `leads:bulk {jobId, change, ids, status?}`, each socket told of
    the leads it may see: every id to the all-seeing sockets, the unassigned ones to every
    own-only socket, each owner's to that owner's own-only sockets."""
    sio, tenant = gateway.sio, event.tenant_id
    base: dict[str, object] = {"jobId": str(event.job_id), "change": event.change.value}
    if event.status is not None:
        base["status"] = event.status.value
    audiences: list[tuple[str, list[str]]] = [
        (rooms.leads_all_room(tenant), [str(i) for ids in event.by_owner.values() for i in ids])
    ]
    for owner, owned in event.by_owner.items():
        room = (
            rooms.leads_own_room(tenant)
            if owner is None
            else rooms.leads_own_user_room(tenant, owner)
        )
        audiences.append((room, [str(i) for i in owned]))
    for room, ids in audiences:
        if ids:
            await sio.emit(BULK, {**base, "ids": ids}, room=room, namespace=rooms.APP_NAMESPACE)


def subscribe_leads(bus: EventBus, gateway: Gateway) -> None:
    """Lead changes, and what changes who hears of them."""

    async def lead_changed(event: LeadChanged) -> None:
        await emit_lead_change(gateway, event)

    async def member_role_changed(event: MemberRoleChanged) -> None:
        await gateway.regroup_leads(event.tenant_id)

    async def tenant_settings_changed(event: TenantSettingsChanged) -> None:
        if "salesSeeAllLeads" in event.changed:
            await gateway.regroup_leads(event.tenant_id)

    async def leads_changed_in_bulk(event: LeadsChangedInBulk) -> None:
        await emit_bulk_change(gateway, event)

    bus.subscribe(LeadChanged, lead_changed)
    bus.subscribe(LeadsChangedInBulk, leads_changed_in_bulk)
    bus.subscribe(MemberRoleChanged, member_role_changed)
    bus.subscribe(TenantSettingsChanged, tenant_settings_changed)


def subscribe(bus: EventBus, gateway: Gateway) -> None:
    sio = gateway.sio
    subscribe_leads(bus, gateway)

    async def job_created(event: JobCreated) -> None:
        await sio.emit(
            "job:available",
            {"types": [event.job_type.value]},
            room=rooms.capability_room(event.tenant_id, event.job_type),
            namespace=rooms.AGENT_NAMESPACE,
        )
        await job_updated(
            JobUpdated(
                tenant_id=event.tenant_id,
                job_id=event.job_id,
                status=JobStatus.PENDING,
                progress=0,
            )
        )

    async def jobs_available(event: JobsAvailable) -> None:
        await sio.emit(
            "job:available",
            {"types": [t.value for t in event.job_types]},
            room=[rooms.capability_room(event.tenant_id, t) for t in event.job_types],
            namespace=rooms.AGENT_NAMESPACE,
        )

    async def job_updated(event: JobUpdated) -> None:
        await emit_job_updated(gateway, event)

    async def cancel_requested(event: JobCancelRequested) -> None:
        await sio.emit(
            "job:cancel",
            {"jobId": str(event.job_id)},
            room=rooms.agent_room(event.agent_id),
            namespace=rooms.AGENT_NAMESPACE,
        )

    async def agent_revoked(event: AgentRevoked) -> None:
        room = rooms.agent_room(event.agent_id)
        await sio.emit("agent:revoked", {}, room=room, namespace=rooms.AGENT_NAMESPACE)
        # Closing the room disconnects its sockets, on whichever instance they are.
        await sio.close_room(room, namespace=rooms.AGENT_NAMESPACE)
        await gateway.emit_agent_status(event.tenant_id, event.agent_id, online=False)

    async def membership_ended(event: MembershipEnded) -> None:
        await sio.close_room(
            rooms.member_room(event.tenant_id, event.user_id), namespace=rooms.APP_NAMESPACE
        )

    async def sessions_ended(event: SessionsEnded) -> None:
        for family_id in event.family_ids:
            await sio.close_room(rooms.session_room(family_id), namespace=rooms.APP_NAMESPACE)

    bus.subscribe(JobCreated, job_created)
    bus.subscribe(SessionsEnded, sessions_ended)
    bus.subscribe(MembershipEnded, membership_ended)
    bus.subscribe(JobsAvailable, jobs_available)
    bus.subscribe(JobUpdated, job_updated)
    bus.subscribe(JobCancelRequested, cancel_requested)
    bus.subscribe(AgentRevoked, agent_revoked)
