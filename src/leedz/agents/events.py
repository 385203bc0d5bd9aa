"""The agents feature's domain events (delivered after commit, see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class AgentRevoked:
    """Published after commit: the gateway disconnects the agent's socket."""

    tenant_id: UUID
    agent_id: UUID
