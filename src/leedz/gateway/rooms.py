"""Room names. An agent is in its own room and in one room per job type it can run; a user's
socket is in its tenant's room. Emits go to rooms, so they reach every instance (Redis)."""

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
