"""Agents: one row per extension install, holding a hashed bearer token shown once."""

from __future__ import annotations

from uuid import UUID

from leedz.access.context import Actor
from leedz.agents.context import AGENT_TOKEN_PREFIX
from leedz.agents.events import AgentRevoked
from leedz.agents.repository import Agents
from leedz.agents.schemas import AgentCreate, AgentOut, AgentWithToken
from leedz.audit import service as audit
from leedz.errors import NotFound
from leedz.jobs.schemas import AGENT_INPUTS
from leedz.jobs.service import JobTypeNotAvailable
from leedz.kit import opaque
from leedz.kit.db import Tx
from leedz.kit.pagination import Page

# Enough of the token to recognise it in a list or a log, far too little to use it. The token
# starts with its tenant (kit/opaque.py: 22 characters after `lza_`), so the prefix must reach
# into the random part to tell a tenant's agents apart: its last 6 characters carry 36 random
# bits (of 256), the most the column (32 characters) holds.
PREFIX_LENGTH = 32


async def register(tx: Tx, actor: Actor, body: AgentCreate) -> AgentWithToken:
    """A new agent and its token (returned once, stored as SHA-256)."""
    capabilities = body.capabilities or list(AGENT_INPUTS)
    unknown = [c for c in capabilities if c not in AGENT_INPUTS]
    if unknown:
        raise JobTypeNotAvailable(f"Agents cannot execute {', '.join(c.value for c in unknown)}")
    token = opaque.new_token(AGENT_TOKEN_PREFIX, actor.tenant_id)
    agents = Agents(tx)
    agent_id = await agents.insert(
        user_id=actor.user_id,
        name=body.name,
        version=body.version,
        capabilities=[c.value for c in dict.fromkeys(capabilities)],
        max_concurrency=body.max_concurrency,
        token_hash=token.digest,
        token_prefix=token.value[:PREFIX_LENGTH],
    )
    await audit.record(
        tx,
        "agent.registered",
        actor=actor,
        entity_type="agent",
        entity_id=agent_id,
        details={"name": body.name},
    )
    row = await agents.get(agent_id)
    if row is None:  # pragma: no cover - inserted a moment ago in this transaction
        raise LookupError("the new agent is not visible")
    return AgentWithToken(agent=AgentOut.model_validate(row), token=token.value)


async def list_agents(tx: Tx) -> Page[AgentOut]:
    """The tenant's agents with live status (bounded per tenant, so one page)."""
    return Page[AgentOut](items=[AgentOut.model_validate(r) for r in await Agents(tx).listing()])


async def revoke(tx: Tx, actor: Actor, agent_id: UUID) -> None:
    """Revoke an agent: its token stops working everywhere and its socket is closed."""
    if not await Agents(tx).revoke(agent_id):
        raise NotFound("No active agent with this id")
    await audit.record(tx, "agent.revoked", actor=actor, entity_type="agent", entity_id=agent_id)
    tx.publish(AgentRevoked(tenant_id=actor.tenant_id, agent_id=agent_id))
