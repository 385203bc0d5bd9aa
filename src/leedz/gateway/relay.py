"""Domain events (delivered after commit) become Socket.IO emits to rooms.

Emits go through the client manager, so with Redis they reach sockets on every instance.
"""

from __future__ import annotations

from leedz.agents.events import AgentRevoked
from leedz.auth.events import SessionsEnded
from leedz.gateway import rooms
from leedz.gateway.server import Gateway
from leedz.jobs.events import JobCancelRequested, JobCreated, JobsAvailable, JobUpdated
from leedz.jobs.models import JobStatus
from leedz.kit.events import EventBus
from leedz.members.events import MembershipEnded


def subscribe(bus: EventBus, gateway: Gateway) -> None:
    sio = gateway.sio

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
        await sio.emit(
            "job:updated",
            {"id": str(event.job_id), "status": event.status.value, "progress": event.progress},
            room=rooms.tenant_room(event.tenant_id),
            namespace=rooms.APP_NAMESPACE,
        )

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
