from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from leedz.jobs.models import JobType
from leedz.kit.db import Connection, Database, Scope
from leedz.kit.repository import TenantRepository

# An agent transaction's first statement: the scope, then the agent (by token hash or id)
# unless revoked, its row locked on request, marked seen on request (migration 20261125_1200).
BEGIN_AGENT_SQL = (
    "SELECT id, user_id, capabilities, max_concurrency"
    " FROM leedz_begin_agent($1, $2, $3, $4, $5, $6, $7)"
)


@dataclass(frozen=True, slots=True)
class AgentLookup:
    """Which agent an agent transaction is for: by token hash (REST) or by id (socket events)."""

    token_hash: bytes | None = None
    agent_id: UUID | None = None
    # Lock the agent row for the transaction (a claim): the agent's claims are serialized.
    lock: bool = False
    # Mark the agent seen now (a heartbeat, a socket connecting).
    touch: bool = False

    def arguments(self, scope: Scope) -> tuple[object, ...]:
        return (
            scope.role,
            scope.tenant_id,
            scope.statement_timeout,
            self.token_hash,
            self.agent_id,
            self.lock,
            self.touch,
        )


@dataclass(frozen=True, slots=True)
class AgentIdentityRow:
    """The unrevoked agent an agent transaction's first statement found."""

    id: UUID
    user_id: UUID | None
    capabilities: tuple[JobType, ...]
    max_concurrency: int


def _identity(row: asyncpg.Record) -> AgentIdentityRow:
    return AgentIdentityRow(
        **{**row, "capabilities": tuple(JobType(c) for c in row["capabilities"])}
    )


async def begin_agent(
    conn: Connection, scope: Scope, lookup: AgentLookup
) -> AgentIdentityRow | None:
    """Set `scope`; the agent `lookup` names unless unknown or revoked (locked, touched)."""
    row = await conn.fetchrow(BEGIN_AGENT_SQL, *lookup.arguments(scope))
    return _identity(row) if row is not None else None


async def agent_alone(
    db: Database, tenant_id: UUID, lookup: AgentLookup
) -> AgentIdentityRow | None:
    """`begin_agent` as a statement of its own: its settings end with it."""
    scope = Scope(
        role=db.app_role,
        tenant_id=str(tenant_id),
        user_id="",
        statement_timeout=db.statement_timeout,
    )
    row = await db.fetchrow_as_app(BEGIN_AGENT_SQL, *lookup.arguments(scope))
    return _identity(row) if row is not None else None


# An agent is online while its heartbeats are recent (the protocol asks for one every 20 s).
ONLINE_WINDOW = "45 seconds"
AGENT_COLUMNS = (
    "a.id, a.name, a.version, a.capabilities::text[] AS capabilities, a.max_concurrency,"
    " a.token_prefix, a.user_id, a.last_seen_at, a.revoked_at, a.created_at,"
    " coalesce(a.revoked_at IS NULL"
    f" AND a.last_seen_at > now() - interval '{ONLINE_WINDOW}', false) AS online,"
    " (SELECT count(*) FROM jobs j WHERE j.tenant_id = a.tenant_id AND j.agent_id = a.id"
    " AND j.status = 'RUNNING') AS running_jobs"
)


@dataclass(frozen=True, slots=True)
class AgentRow:
    """An agent as listed: its registration, whether it is online, how many jobs it runs."""

    id: UUID
    name: str
    version: str | None
    capabilities: tuple[JobType, ...]
    max_concurrency: int
    token_prefix: str
    user_id: UUID | None
    last_seen_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    online: bool
    running_jobs: int


def _agent(row: asyncpg.Record) -> AgentRow:
    return AgentRow(**{**row, "capabilities": tuple(JobType(c) for c in row["capabilities"])})


class Agents(TenantRepository):
    async def insert(
        self,
        *,
        user_id: UUID,
        name: str,
        version: str | None,
        capabilities: list[str],
        max_concurrency: int,
        token_hash: bytes,
        token_prefix: str,
    ) -> UUID:
        agent_id: UUID = await self.fetchval(
            "INSERT INTO agents (tenant_id, user_id, name, version, capabilities,"
            " max_concurrency, token_hash, token_prefix)"
            " VALUES ($1, $2, $3, $4, $5::text[]::job_type[], $6, $7, $8) RETURNING id",
            user_id,
            name,
            version,
            capabilities,
            max_concurrency,
            token_hash,
            token_prefix,
        )
        return agent_id

    async def get(self, agent_id: UUID) -> AgentRow | None:
        row = await self.fetchrow(
            f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.tenant_id = $1 AND a.id = $2",
            agent_id,
        )
        return _agent(row) if row is not None else None

    async def listing(self) -> list[AgentRow]:
        rows = await self.fetch(
            f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.tenant_id = $1"
            " ORDER BY a.created_at DESC, a.id"
        )
        return [_agent(row) for row in rows]

    async def revoke(self, agent_id: UUID) -> bool:
        status = await self.execute(
            "UPDATE agents SET revoked_at = now(), updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
            agent_id,
        )
        return status == "UPDATE 1"
