"""Room names. An agent is in its own room and in one room per job type it can run; a user's
socket is in its tenant's room, and in the lead rooms its view of the leads puts it in. Emits go
to rooms, so they reach every instance (Redis).

Lead rooms (docs/realtime.md): a socket that sees every lead of its tenant (MANAGER and up, or
SALES while `salesSeeAllLeads` is on) is in `leads:<tenant>:all`; a SALES socket that sees only
its own and the unassigned leads is in `leads:<tenant>:own` and `leads:<tenant>:own:<user>`.
A socket is in exactly one of these two kinds, moved between them when its role or the
setting changes (app_namespace.py)."""

from __future__ import annotations

from uuid import UUID

from leedz.jobs.models import JobType

AGENT_NAMESPACE = "/agent"
APP_NAMESPACE = "/app"


def agent_room(agent_id: UUID) -> str:
    return f"agent:{agent_id}"


def capability_room(tenant_id: UUID, job_type: JobType) -> str:
    return f"tenant:{tenant_id}:{job_type.value}"


def tenant_room(tenant_id: UUID) -> str:
    return f"tenant:{tenant_id}"


def member_room(tenant_id: UUID, user_id: UUID) -> str:
    """A signed-in user's sockets for one tenant: closed when the membership ends."""
    return f"member:{tenant_id}:{user_id}"


def session_room(family_id: UUID) -> str:
    """The sockets opened with any access token of one session (refresh-token family): closed
    when the session ends."""
    return f"session:{family_id}"


def leads_all_room(tenant_id: UUID) -> str:
    """The sockets that see every lead of the tenant."""
    return f"leads:{tenant_id}:all"


def leads_own_room(tenant_id: UUID) -> str:
    """The sockets that see only their own and the unassigned leads (any user's)."""
    return f"leads:{tenant_id}:own"


def leads_own_user_room(tenant_id: UUID, user_id: UUID) -> str:
    """`leads_own_room`'s sockets of one user."""
    return f"leads:{tenant_id}:own:{user_id}"


def lead_audience(tenant_id: UUID, owner_id: UUID | None) -> list[str]:
    """The rooms of the sockets that may see a lead owned by `owner_id` (None: unassigned)."""
    if owner_id is None:
        return [leads_all_room(tenant_id), leads_own_room(tenant_id)]
    return [leads_all_room(tenant_id), leads_own_user_room(tenant_id, owner_id)]


def lead_rooms(tenant_id: UUID, user_id: UUID, *, sees_all: bool) -> set[str]:
    """The lead rooms of a socket of `user_id`, by its view."""
    if sees_all:
        return {leads_all_room(tenant_id)}
    return {leads_own_room(tenant_id), leads_own_user_room(tenant_id, user_id)}


def is_lead_room(room: object) -> bool:
    return isinstance(room, str) and room.startswith("leads:")
