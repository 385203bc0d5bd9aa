"""The Socket.IO server: one python-socketio namespace class each for `/agent`, `/app` and `/`.

Handlers parse the event's payload with the same schemas as the REST twin, call the same service
functions, and answer through the ack: `{ok: true, …}` or `{ok: false, error: {code, message}}`;
an event no namespace serves is answered `unknown_event` (namespace.py). Domain events published
after commit (kit/events.py) become emits to rooms (relay.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import socketio
import structlog

from leedz.config import Settings
from leedz.gateway import fastjson, packets
from leedz.gateway.agent_namespace import AgentNamespace
from leedz.gateway.app_namespace import REGROUP_LEADS, AppNamespace
from leedz.gateway.managers import manager_for
from leedz.gateway.namespace import DefaultNamespace, HandshakeLimits
from leedz.gateway.transport import EngineServer
from leedz.kit.db import Database
from leedz.kit.jwt import AccessTokens
from leedz.kit.ratelimit import RateLimits

log = structlog.get_logger("leedz.gateway")


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]  # socketio is untyped
    """python-socketio's server on the gateway's Engine.IO server (transport.py), ending the
    connection of a client whose packets break Socket.IO's framing (packets.py)."""

    _binary_packet: dict[str, Any]
    eio: EngineServer

    def _engineio_server_class(self) -> type[EngineServer]:
        return EngineServer

    async def _handle_eio_message(self, eio_sid: str, data: object) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError as exc:
            # Ours (packets.ProtocolViolation) or python-socketio's own complaints about the
            # framing ("Unexpected binary packet", …): a parse error, as Socket.IO's reference
            # server calls it. Without this, python-engineio logs the traceback and the socket
            # stays, possibly still waiting for attachments that never come.
            self._binary_packet.pop(eio_sid, None)
            log.warning("socket_protocol_violation", reason=str(exc)[:200])
            await self.eio.disconnect(eio_sid)


class Gateway:
    """The Socket.IO server of one instance and its namespaces."""

    def __init__(
        self,
        settings: Settings,
        *,
        database: Callable[[], Database],
        access_tokens: AccessTokens,
        rate_limits: RateLimits,
    ) -> None:
        self.settings = settings
        self.sio = SocketServer(
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
        # Shared by both namespaces: an instance's handshakes are counted together.
        handshakes = HandshakeLimits(settings, rate_limits)
        self.app_namespace = AppNamespace(
            database=database, handshakes=handshakes, access_tokens=access_tokens
        )
        self.agent_namespace = AgentNamespace(
            database=database,
            handshakes=handshakes,
            lease_seconds=settings.lease_seconds,
            app=self.app_namespace,
            resolve=settings.resolution == "on",
        )
        for namespace in (DefaultNamespace(handshakes), self.agent_namespace, self.app_namespace):
            self.sio.register_namespace(namespace)
        self.sio.manager.broadcast_handler = self.app_namespace.on_broadcast

    def asgi(self, other: Any) -> socketio.ASGIApp:
        """The served ASGI app: Socket.IO under /socket.io/, everything else to `other`."""
        return socketio.ASGIApp(self.sio, other_asgi_app=other, socketio_path="socket.io")

    async def emit_agent_status(self, tenant_id: UUID, agent_id: UUID, *, online: bool) -> None:
        await self.app_namespace.emit_agent_status(tenant_id, agent_id, online=online)

    async def regroup_leads(self, tenant_id: UUID) -> None:
        """Every instance reads again which leads its sockets of the tenant may hear about
        (a role or `salesSeeAllLeads` changed)."""
        await self.sio.manager.broadcast({"kind": REGROUP_LEADS, "tenantId": str(tenant_id)})
