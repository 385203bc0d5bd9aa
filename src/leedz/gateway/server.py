"""The Socket.IO server: handshake authentication, thin event handlers, one transaction each.

Handlers parse the event's payload with the same schemas as the REST twin, call the same service
functions, and answer through the ack: `{ok: true, …}` or `{ok: false, error: {code, message}}`.
Domain events published after commit (kit/events.py) become emits to rooms (relay.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import socketio
import structlog
from pydantic import BaseModel, ValidationError

from leedz.access.context import MemberSession
from leedz.agents.context import (
    AgentPrincipal,
    BeginAgent,
    agent_alone,
    agent_token_lookup,
    invalid_agent_token,
)
from leedz.agents.repository import AgentLookup
from leedz.config import Settings
from leedz.errors import (
    DATABASE_OUTAGES,
    DatabaseUnavailable,
    InternalError,
    LeedzError,
    Unauthorized,
    database_error,
)
from leedz.gateway import fastjson, packets, rooms
from leedz.gateway.managers import manager_for
from leedz.gateway.schemas import (
    SocketClaimIn,
    SocketCompleteIn,
    SocketEvidenceIn,
    SocketFailIn,
    SocketHeartbeatIn,
    SocketProgressIn,
)
from leedz.kit.db import Database, Tx
from leedz.kit.jwt import AccessTokens, TokenError
from leedz.kit.ratelimit import RateLimits
from leedz.leases import service as leases

log = structlog.get_logger("leedz.gateway")

# Raised in a connect handler: the client's `connect_error` gets `{message, data: {code, …}}`.
Refused = socketio.exceptions.ConnectionRefusedError

Ack = dict[str, Any]
# A revoked agent's last ack goes out before its socket is closed.
AGENT_GONE_SECONDS = 0.2


def _failure(error: LeedzError) -> Ack:
    return {"ok": False, "error": {"code": error.code, "message": error.detail, **error.extra}}


def _refusal(error: LeedzError) -> Exception:
    """A refused handshake: the client's `connect_error` carries `message` and `data.code`."""
    refused: Exception = Refused(error.detail, {"code": error.code, **error.extra})
    return refused


def _client_ip(environ: dict[str, Any]) -> str:
    scope = environ.get("asgi.scope") or {}
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _auth_token(auth: object) -> str:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise Unauthorized("The handshake needs `auth: {token}`")
    return token


def _failed_event(exc: Exception, event: str) -> Ack:
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
    error = exc if isinstance(exc, LeedzError) else database_error(exc)
    if error is None:  # a bug: logged, and the agent still gets an answer
        log.error("agent_event_failed", socket_event=event, exc_info=exc)
        error = InternalError("The server failed to handle this event")
    return _failure(error)


def _dump(model: BaseModel | None) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True) if model is not None else {}


class Gateway:
    """The Socket.IO server of one instance and what its handlers need."""

    def __init__(
        self,
        settings: Settings,
        *,
        database: Callable[[], Database],
        access_tokens: AccessTokens,
        rate_limits: RateLimits,
    ) -> None:
        self.settings = settings
        self._database = database
        self._access_tokens = access_tokens
        self._rate_limits = rate_limits
        self._expiries: dict[str, asyncio.TimerHandle] = {}
        # This instance's own handshakes, counted in its memory whatever REDIS_URL says.
        self._instance_limits = RateLimits(None, fixed_window=True)
        self._background: set[asyncio.Future[None]] = set()
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager_for(settings.redis_url, channel="leedz-socketio"),
            # An empty list would switch Engine.IO's origin check off; None keeps same-origin.
            cors_allowed_origins=settings.allowed_origins or None,
            ping_interval=settings.socket_ping_interval,
            ping_timeout=settings.socket_ping_timeout,
            max_http_buffer_size=settings.max_body_bytes,
            logger=False,
            engineio_logger=False,
            serializer=packets.Packet,
            # Engine.IO's packets too (python-engineio keeps it on its Packet class, process-wide).
            json=fastjson,
            # An agent's events are handled one after another, in the order it sent them (no
            # task per event; the server never `call()`s a client).
            async_handlers=False,
        )
        self._register_agent_namespace()
        self._register_app_namespace()

    @property
    def db(self) -> Database:
        return self._database()

    def asgi(self, other: Any) -> socketio.ASGIApp:
        """The served ASGI app: Socket.IO under /socket.io/, everything else to `other`."""
        return socketio.ASGIApp(self.sio, other_asgi_app=other, socketio_path="socket.io")

    async def _limit_handshake(self, environ: dict[str, Any]) -> None:
        await self._instance_limits.hit(
            self.settings.rate_limit_socket_connect_instance, "socket-instance"
        )
        await self._rate_limits.hit(
            self.settings.rate_limit_socket_connect, "socket", _client_ip(environ)
        )

    # --- /agent -------------------------------------------------------------------------------

    def _register_agent_namespace(self) -> None:
        ns = rooms.AGENT_NAMESPACE
        self.sio.on("connect", self._agent_connect, namespace=ns)
        self.sio.on("disconnect", self._agent_disconnect, namespace=ns)
        lease_seconds = self.settings.lease_seconds

        async def heartbeat(tx: Tx, agent: AgentPrincipal, body: Any) -> Ack:
            return _dump(await leases.heartbeat(tx, agent, body, lease_seconds=lease_seconds))

        async def claim(tx: Tx, agent: AgentPrincipal, body: Any) -> Ack:
            claimed = await leases.claim(tx, agent, body, lease_seconds=lease_seconds)
            return _dump(claimed) if claimed is not None else {"job": None}

        async def progress(tx: Tx, agent: AgentPrincipal, body: Any) -> Ack:
            return _dump(
                await leases.progress(tx, agent, body.job_id, body, lease_seconds=lease_seconds)
            )

        async def evidence(tx: Tx, agent: AgentPrincipal, body: Any) -> Ack:
            return _dump(
                await leases.upload_evidence(
                    tx, agent, body.job_id, lease_id=body.lease_id, items=body.items
                )
            )

        async def complete(tx: Tx, agent: AgentPrincipal, body: Any) -> Ack:
            return {"job": _dump(await leases.complete(tx, agent, body.job_id, body))}

        async def fail(tx: Tx, agent: AgentPrincipal, body: Any) -> Ack:
            return {"job": _dump(await leases.fail(tx, agent, body.job_id, body))}

        handlers: dict[str, tuple[type[BaseModel], AgentCall]] = {
            "heartbeat": (SocketHeartbeatIn, heartbeat),
            "job:claim": (SocketClaimIn, claim),
            "job:progress": (SocketProgressIn, progress),
            "job:evidence": (SocketEvidenceIn, evidence),
            "job:complete": (SocketCompleteIn, complete),
            "job:fail": (SocketFailIn, fail),
        }
        for event, (schema, call) in handlers.items():
            # The transaction's first statement locks the agent's row for a claim and marks it
            # seen for a heartbeat.
            handler = self._agent_handler(
                schema, call, lock=event == "job:claim", touch=event == "heartbeat"
            )
            self.sio.on(event, handler, namespace=ns)

    async def _agent_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        try:
            await self._limit_handshake(environ)
            found = agent_token_lookup(_auth_token(auth))
            if found is None:
                raise invalid_agent_token()
            tenant_id, lookup = found
            in_flight = SocketHeartbeatIn.model_validate(
                {"inFlight": auth.get("inFlight")} if isinstance(auth, dict) else {}
            ).in_flight
            lookup = AgentLookup(token_hash=lookup.token_hash, touch=True)
            agent = await self._agent_seen(tenant_id, lookup, in_flight)
        except LeedzError as exc:
            raise _refusal(exc) from exc
        except ValidationError as exc:
            raise Refused("The handshake is malformed", {"code": "validation_error"}) from exc
        except DATABASE_OUTAGES as exc:
            raise _refusal(DatabaseUnavailable("The database cannot be reached")) from exc
        # One connection per agent: the newest wins, and an older socket (a stale one not yet
        # timed out, or a second process with the same token) is closed on whichever instance
        # holds it — its jobs were just reconciled against this handshake's `inFlight`.
        await self.sio.close_room(rooms.agent_room(agent.agent_id), namespace=rooms.AGENT_NAMESPACE)
        await self.sio.save_session(sid, {"agent": agent}, namespace=rooms.AGENT_NAMESPACE)
        await self.sio.enter_room(sid, rooms.agent_room(agent.agent_id), rooms.AGENT_NAMESPACE)
        for job_type in agent.capabilities:
            await self.sio.enter_room(
                sid, rooms.capability_room(agent.tenant_id, job_type), rooms.AGENT_NAMESPACE
            )
        await self.emit_agent_status(agent.tenant_id, agent.agent_id, online=True)

    async def _agent_seen(
        self, tenant_id: UUID, lookup: AgentLookup, in_flight: list[UUID] | None
    ) -> AgentPrincipal:
        """Authenticate the handshake's agent and mark it seen; with `in_flight`, reconcile."""
        if in_flight is None:
            # One statement, one round trip: the common handshake is cheap (agents_connected).
            found = await agent_alone(self.db, tenant_id, lookup)
            if found is None:
                raise invalid_agent_token()
            return found
        begin = BeginAgent(tenant_id, lookup)
        async with self.db.transaction(tenant_id=tenant_id, first=begin) as tx:
            if begin.agent is None:
                raise invalid_agent_token()
            agent = begin.agent
            # Reconnect: the database is the truth about what this agent holds.
            await leases.reconcile(tx, agent, in_flight, lease_seconds=self.settings.lease_seconds)
        return agent

    async def _agent_disconnect(self, sid: str, *_: object) -> None:
        try:
            session = await self.sio.get_session(sid, namespace=rooms.AGENT_NAMESPACE)
        except KeyError:
            return
        agent: AgentPrincipal | None = session.get("agent")
        if agent is not None:
            await self.emit_agent_status(agent.tenant_id, agent.agent_id, online=False)

    def _agent_handler(
        self, schema: type[BaseModel], call: AgentCall, *, lock: bool, touch: bool
    ) -> Callable[[str, object], Awaitable[Ack]]:
        async def handle(sid: str, data: object = None) -> Ack:
            try:
                session = await self.sio.get_session(sid, namespace=rooms.AGENT_NAMESPACE)
            except KeyError:  # disconnected while the event was on its way
                return _failure(Unauthorized("Not connected"))
            agent: AgentPrincipal = session["agent"]
            try:
                body = schema.model_validate(data if data is not None else {})
                begin = BeginAgent(
                    agent.tenant_id, AgentLookup(agent_id=agent.agent_id, lock=lock, touch=touch)
                )
                async with self.db.transaction(tenant_id=agent.tenant_id, first=begin) as tx:
                    if begin.agent is None:
                        raise invalid_agent_token()
                    result = await call(tx, begin.agent, body)
            except Exception as exc:  # every failure is an ack, never silence
                if isinstance(exc, Unauthorized):
                    # Revoked: the ack says so first, then the socket is closed.
                    self._later(AGENT_GONE_SECONDS, self._disconnect_agent(sid))
                return _failed_event(exc, schema.__name__)
            return {"ok": True, **result}

        return handle

    async def _disconnect_agent(self, sid: str) -> None:
        await self.sio.disconnect(sid, namespace=rooms.AGENT_NAMESPACE)

    def _later(self, delay: float, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after `delay` seconds, holding a reference until it is done."""

        async def run() -> None:
            await asyncio.sleep(delay)
            await work

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- /app ---------------------------------------------------------------------------------

    def _register_app_namespace(self) -> None:
        self.sio.on("connect", self._app_connect, namespace=rooms.APP_NAMESPACE)
        self.sio.on("disconnect", self._app_disconnect, namespace=rooms.APP_NAMESPACE)

    async def _app_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        try:
            await self._limit_handshake(environ)
            try:
                claims = self._access_tokens.verify(_auth_token(auth))
            except TokenError as exc:
                code = "token_expired" if exc.expired else "invalid_token"
                raise Refused("The access token is not valid", {"code": code}) from exc
            session = MemberSession(claims.token_id)
            async with self.db.transaction(
                tenant_id=claims.tenant_id, user_id=claims.user_id, first=session
            ):
                if session.role is None:
                    raise Refused(
                        "Not a member of this tenant, or signed out", {"code": "invalid_token"}
                    )
        except LeedzError as exc:
            raise _refusal(exc) from exc
        except DATABASE_OUTAGES as exc:
            raise _refusal(DatabaseUnavailable("The database cannot be reached")) from exc
        await self.sio.save_session(
            sid,
            {"user_id": claims.user_id, "tenant_id": claims.tenant_id},
            namespace=rooms.APP_NAMESPACE,
        )
        await self.sio.enter_room(sid, rooms.tenant_room(claims.tenant_id), rooms.APP_NAMESPACE)
        await self.sio.enter_room(
            sid, rooms.member_room(claims.tenant_id, claims.user_id), rooms.APP_NAMESPACE
        )
        # The socket lives no longer than the token that opened it: the client reconnects with
        # a fresh one, and a session ended meanwhile (sign-out, password change) is refused.
        self._expire_at(sid, claims.expires)

    def _expire_at(self, sid: str, expires: int) -> None:
        async def disconnect() -> None:
            await self.sio.disconnect(sid, namespace=rooms.APP_NAMESPACE)

        def fire() -> None:
            # Popped here too: a client that left during its handshake never disconnects again.
            self._expiries.pop(sid, None)
            self._later(0, disconnect())

        delay = max(0.0, expires - time.time())
        self._expiries[sid] = asyncio.get_running_loop().call_later(delay, fire)

    async def _app_disconnect(self, sid: str, *_: object) -> None:
        handle = self._expiries.pop(sid, None)
        if handle is not None:
            handle.cancel()

    async def emit_agent_status(self, tenant_id: UUID, agent_id: UUID, *, online: bool) -> None:
        await self.sio.emit(
            "agent:status",
            {"id": str(agent_id), "online": online, "lastSeenAt": datetime.now(UTC).isoformat()},
            room=rooms.tenant_room(tenant_id),
            namespace=rooms.APP_NAMESPACE,
        )


AgentCall = Callable[[Tx, AgentPrincipal, Any], Awaitable[Ack]]
