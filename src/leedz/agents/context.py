"""Which agent is calling, already verified, and the transaction that runs on its behalf.

An agent token (`lza_…`) names its tenant in clear (kit/opaque.py), so the transaction is scoped
to that tenant before the token's hash is looked up, and the lookup is the transaction's first
statement (`leedz_begin_agent`): a revoked agent fails on its very next call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from leedz.access.context import InvalidToken, bearer_token
from leedz.agents import repository
from leedz.agents.repository import AgentIdentityRow, AgentLookup
from leedz.jobs.models import JobType
from leedz.kit import opaque
from leedz.kit.db import Connection, Database, Scope, Tx, database

AGENT_TOKEN_PREFIX = "lza"  # noqa: S105 - a token prefix, not a secret


@dataclass(frozen=True)
class AgentPrincipal:
    """A registered, unrevoked agent of a tenant."""

    agent_id: UUID
    tenant_id: UUID
    user_id: UUID | None
    capabilities: frozenset[JobType]
    max_concurrency: int
    # The agent's row is locked until the transaction ends (its first statement took the lock).
    locked: bool = False

    @classmethod
    def of(cls, tenant_id: UUID, row: AgentIdentityRow, *, locked: bool = False) -> AgentPrincipal:
        return cls(
            agent_id=row.id,
            tenant_id=tenant_id,
            user_id=row.user_id,
            capabilities=frozenset(row.capabilities),
            max_concurrency=row.max_concurrency,
            locked=locked,
        )


class BeginAgent:
    """An agent transaction's first statement (kit/db.py's `FirstStatement`): `agent` is the
    verified agent afterwards, None when the token or id is unknown or the agent revoked."""

    __slots__ = ("agent", "lookup", "tenant_id")

    def __init__(self, tenant_id: UUID, lookup: AgentLookup) -> None:
        self.tenant_id = tenant_id
        self.lookup = lookup
        self.agent: AgentPrincipal | None = None

    async def __call__(self, conn: Connection, scope: Scope) -> None:
        row = await repository.begin_agent(conn, scope, self.lookup)
        if row is not None:
            self.agent = AgentPrincipal.of(self.tenant_id, row, locked=self.lookup.lock)


async def agent_alone(db: Database, tenant_id: UUID, lookup: AgentLookup) -> AgentPrincipal | None:
    """The agent's first statement on its own (its settings end with it): one round trip that
    authenticates an agent, and with `lookup.touch` marks it seen (a socket handshake)."""
    row = await repository.agent_alone(db, tenant_id, lookup)
    return AgentPrincipal.of(tenant_id, row) if row is not None else None


def agent_token_lookup(token: str) -> tuple[UUID, AgentLookup] | None:
    """The tenant and lookup an agent token names, or None when it is not shaped like one."""
    parsed = opaque.parse_token(AGENT_TOKEN_PREFIX, token)
    if parsed is None:
        return None
    return parsed.tenant_id, AgentLookup(token_hash=parsed.digest)


def invalid_agent_token() -> InvalidToken:
    error = InvalidToken("The agent token is not valid or the agent was revoked")
    error.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return error


@dataclass(frozen=True)
class AgentAuthenticated:
    agent: AgentPrincipal
    tx: Tx


@asynccontextmanager
async def _agent_transaction(
    request: Request, *, lock: bool = False, touch: bool = False
) -> AsyncIterator[AgentAuthenticated]:
    found = agent_token_lookup(bearer_token(request))
    if found is None:
        raise invalid_agent_token()
    tenant_id, lookup = found
    begin = BeginAgent(tenant_id, AgentLookup(token_hash=lookup.token_hash, lock=lock, touch=touch))
    async with database(request).transaction(tenant_id=tenant_id, first=begin) as tx:
        if begin.agent is None:
            raise invalid_agent_token()
        yield AgentAuthenticated(agent=begin.agent, tx=tx)


async def _authenticate_agent(request: Request) -> AsyncIterator[AgentAuthenticated]:
    async with _agent_transaction(request) as auth:
        yield auth


async def _authenticate_heartbeat(request: Request) -> AsyncIterator[AgentAuthenticated]:
    async with _agent_transaction(request, touch=True) as auth:
        yield auth


async def _authenticate_claiming_agent(request: Request) -> AsyncIterator[AgentAuthenticated]:
    async with _agent_transaction(request, lock=True) as auth:
        yield auth


# One transaction per request, closed before the response is sent (see kit/db.py).
AgentCall = Annotated[AgentAuthenticated, Depends(_authenticate_agent, scope="function")]
"""The calling agent and its request's transaction, scoped by RLS to the agent's tenant."""
HeartbeatAgentCall = Annotated[
    AgentAuthenticated, Depends(_authenticate_heartbeat, scope="function")
]
"""The same, the agent marked seen by the transaction's first statement."""
ClaimingAgentCall = Annotated[
    AgentAuthenticated, Depends(_authenticate_claiming_agent, scope="function")
]
"""The same, with the agent's row locked for the transaction (claims are serialized)."""
