"""`/agent`: a worker's socket. The handshake authenticates the agent token; each event runs the
lease rule of its REST twin in one transaction and is answered through its ack.

An agent's events are handled one after another, in the order it sent them (the server is
built with `async_handlers=False`, server.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from leedz.agents.context import (
    AgentPrincipal,
    BeginAgent,
    agent_alone,
    agent_token_lookup,
    invalid_agent_token,
)
from leedz.agents.repository import AgentLookup
from leedz.errors import Unauthorized
from leedz.gateway import rooms
from leedz.gateway.app_namespace import AppNamespace
from leedz.gateway.namespace import (
    Ack,
    EventHandler,
    EventNamespace,
    HandshakeLimits,
    auth_token,
    client_error,
    failure,
)
from leedz.gateway.schemas import (
    SocketClaimIn,
    SocketCompleteIn,
    SocketEvidenceIn,
    SocketFailIn,
    SocketHeartbeatIn,
    SocketProgressIn,
)
from leedz.kit.db import Database, Tx
from leedz.leases import service as leases

# A revoked agent's last ack goes out before its socket is closed.
AGENT_GONE_SECONDS = 0.2

# A lease rule as an event runs it: the transaction, the agent, the validated payload.
LeaseRule = Callable[[Tx, AgentPrincipal, Any], Awaitable[Ack]]


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """An event an agent sends: its payload's schema, its rule, and what the transaction's first
    statement does to the agent's row (locks it for a claim, marks it seen for a heartbeat)."""

    name: str
    schema: type[BaseModel]
    rule: LeaseRule
    lock: bool = False
    touch: bool = False


def _dump(model: BaseModel | None) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True) if model is not None else {}


def _failed_event(exc: Exception, event: AgentEvent) -> Ack:
    """The ack for an agent event that failed: the same codes as the REST twin."""
    if isinstance(exc, ValidationError):
        return {
            "ok": False,
            "error": {
                "code": "validation_error",
                "message": "The event payload is invalid",
                "errors": [
                    {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors()
                ],
            },
        }
    return failure(client_error(exc, what="event", namespace="/agent", socket_event=event.name))


class AgentNamespace(EventNamespace):
    """The `/agent` namespace: handshake, events, and the agent's online status for `/app`."""

    def __init__(
        self,
        *,
        database: Callable[[], Database],
        handshakes: HandshakeLimits,
        lease_seconds: int,
        app: AppNamespace,
        resolve: bool = True,
    ) -> None:
        super().__init__(rooms.AGENT_NAMESPACE)
        self._database = database
        self._handshakes = handshakes
        self._lease_seconds = lease_seconds
        self._resolve = resolve
        self._app = app
        self.events = {
            event.name: self._handler(event)
            for event in (
                AgentEvent("heartbeat", SocketHeartbeatIn, self._heartbeat, touch=True),
                AgentEvent("job:claim", SocketClaimIn, self._claim, lock=True),
                AgentEvent("job:progress", SocketProgressIn, self._progress),
                AgentEvent("job:evidence", SocketEvidenceIn, self._evidence),
                AgentEvent("job:complete", SocketCompleteIn, self._complete),
                AgentEvent("job:fail", SocketFailIn, self._fail),
            )
        }

    # --- the handshake and the end of the socket ----------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        await self._handshakes.admit(environ)
        found = agent_token_lookup(auth_token(auth))
        if found is None:
            raise invalid_agent_token()
        tenant_id, lookup = found
        in_flight = SocketHeartbeatIn.model_validate(
            {"inFlight": auth.get("inFlight")} if isinstance(auth, dict) else {}
        ).in_flight
        lookup = AgentLookup(token_hash=lookup.token_hash, touch=True)
        agent = await self._agent_seen(tenant_id, lookup, in_flight)
        # One connection per agent: the newest wins, and an older socket (a stale one not yet
        # timed out, or a second process with the same token) is closed on whichever instance
        # holds it — its jobs were just reconciled against this handshake's `inFlight`.
        await self.close_room(rooms.agent_room(agent.agent_id))
        await self.save_session(sid, {"agent": agent})
        await self.enter_room(sid, rooms.agent_room(agent.agent_id))
        for job_type in agent.capabilities:
            await self.enter_room(sid, rooms.capability_room(agent.tenant_id, job_type))
        await self._app.emit_agent_status(agent.tenant_id, agent.agent_id, online=True)

    async def _agent_seen(
        self, tenant_id: UUID, lookup: AgentLookup, in_flight: list[UUID] | None
    ) -> AgentPrincipal:
        """Authenticate the handshake's agent and mark it seen; with `in_flight`, reconcile."""
        if in_flight is None:
            # One statement, one round trip: the common handshake is cheap (agents_connected).
            found = await agent_alone(self._database(), tenant_id, lookup)
            if found is None:
                raise invalid_agent_token()
            return found
        begin = BeginAgent(tenant_id, lookup)
        async with self._database().transaction(tenant_id=tenant_id, first=begin) as tx:
            if begin.agent is None:
                raise invalid_agent_token()
            agent = begin.agent
            # Reconnect: the database is the truth about what this agent holds.
            await leases.reconcile(tx, agent, in_flight, lease_seconds=self._lease_seconds)
        return agent

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return
        agent: AgentPrincipal | None = session.get("agent")
        if agent is not None:
            await self._app.emit_agent_status(agent.tenant_id, agent.agent_id, online=False)

    # --- events ---------------------------------------------------------------------------------

    def _handler(self, event: AgentEvent) -> EventHandler:
        return partial(self._handle, event)

    async def _handle(self, event: AgentEvent, sid: str, data: object) -> Ack:
        try:
            session = await self.get_session(sid)
        except KeyError:  # disconnected while the event was on its way
            return failure(Unauthorized("Not connected"))
        agent: AgentPrincipal = session["agent"]
        try:
            body = event.schema.model_validate(data if data is not None else {})
            begin = BeginAgent(
                agent.tenant_id,
                AgentLookup(agent_id=agent.agent_id, lock=event.lock, touch=event.touch),
            )
            async with self._database().transaction(tenant_id=agent.tenant_id, first=begin) as tx:
                if begin.agent is None:
                    raise invalid_agent_token()
                result = await event.rule(tx, begin.agent, body)
        except Exception as exc:  # every failure is an ack, never silence
            if isinstance(exc, Unauthorized):
                # Revoked: the ack says so first, then the socket is closed.
                self.later(AGENT_GONE_SECONDS, self.disconnect(sid))
            return _failed_event(exc, event)
        return {"ok": True, **result}

    async def _heartbeat(self, tx: Tx, agent: AgentPrincipal, body: SocketHeartbeatIn) -> Ack:
        return _dump(await leases.heartbeat(tx, agent, body, lease_seconds=self._lease_seconds))

    async def _claim(self, tx: Tx, agent: AgentPrincipal, body: SocketClaimIn) -> Ack:
        claimed = await leases.claim(tx, agent, body, lease_seconds=self._lease_seconds)
        return _dump(claimed) if claimed is not None else {"job": None}

    async def _progress(self, tx: Tx, agent: AgentPrincipal, body: SocketProgressIn) -> Ack:
        return _dump(
            await leases.progress(tx, agent, body.job_id, body, lease_seconds=self._lease_seconds)
        )

    async def _evidence(self, tx: Tx, agent: AgentPrincipal, body: SocketEvidenceIn) -> Ack:
        return _dump(
            await leases.upload_evidence(
                tx,
                agent,
                body.job_id,
                lease_id=body.lease_id,
                items=body.items,
                resolve=self._resolve,
            )
        )

    async def _complete(self, tx: Tx, agent: AgentPrincipal, body: SocketCompleteIn) -> Ack:
        return {"job": _dump(await leases.complete(tx, agent, body.job_id, body))}

    async def _fail(self, tx: Tx, agent: AgentPrincipal, body: SocketFailIn) -> Ack:
        return {"job": _dump(await leases.fail(tx, agent, body.job_id, body))}
