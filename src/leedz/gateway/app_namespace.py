"""`/app`: a signed-in member's socket. It only listens (job updates, agents' status, lead
changes); the handshake takes a member's access token, and the socket lives no longer than that
token, its session (refresh-token family) or its membership: their ends close the rooms
`session:<family>` and `member:<tenant>:<user>` (relay.py), on every instance.

Which lead changes a socket hears follows the member's role and the tenant's `salesSeeAllLeads`
(rooms.py's lead rooms). Both are read at the handshake; when either changes, every instance
is told (relay.py, managers.py's `broadcast`) and reads them again for its own sockets of that
tenant (`regroup_leads`), moving each socket to the lead rooms of its new view. A regroup that
starts while a handshake is reading makes the handshake read again, so a socket never keeps a
view read before a change it was not regrouped by."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog

from leedz.access.context import MemberSession
from leedz.auth import sessions
from leedz.gateway import rooms
from leedz.gateway.namespace import EventNamespace, HandshakeLimits, Refused, auth_token
from leedz.kit.db import Database
from leedz.kit.jwt import AccessClaims, AccessTokens, TokenError
from leedz.leads.service import sees_all_leads
from leedz.members.repository import Memberships
from leedz.tenants import service as tenants

log = structlog.get_logger("leedz.gateway")

# The broadcast (managers.py) that makes every instance regroup a tenant's sockets.
REGROUP_LEADS = "regroup_leads"


def _signed_out() -> Exception:
    refused: Exception = Refused(
        "Not a member of this tenant, or signed out", {"code": "invalid_token"}
    )
    return refused


@dataclass
class _Socket:
    """A local `/app` socket: whose, and its view of the leads (None while its handshake runs)."""

    tenant_id: UUID
    user_id: UUID
    sees_all: bool | None = None


class AppNamespace(EventNamespace):
    """The `/app` namespace: handshake, token expiry, and the emits its members hear about
    agents. A member sends no events."""

    def __init__(
        self,
        *,
        database: Callable[[], Database],
        handshakes: HandshakeLimits,
        access_tokens: AccessTokens,
    ) -> None:
        super().__init__(rooms.APP_NAMESPACE)
        self._database = database
        self._handshakes = handshakes
        self._access_tokens = access_tokens
        self._expiries: dict[str, asyncio.TimerHandle] = {}
        self._sockets: dict[str, _Socket] = {}
        # Per tenant, the regroups begun on this instance: a handshake whose read saw another
        # number than it ends with reads again; a regroup that is no longer the last one begun
        # leaves the sockets to the last one.
        self._regroups: dict[UUID, int] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        await self._handshakes.admit(environ)
        try:
            claims = self._access_tokens.verify(auth_token(auth))
        except TokenError as exc:
            code = "token_expired" if exc.expired else "invalid_token"
            raise Refused("The access token is not valid", {"code": code}) from exc
        family = await self._alive(claims)
        if family is None:  # pragma: no cover - a live session has a family
            raise _signed_out()
        # The rooms whose close ends this socket, entered before the session is read again: an
        # end committed after that read closes them with this socket inside (and takes it out
        # while the handshake runs: checked below), one committed before it is seen by it. Read
        # only once, an end committed between that read and the rooms went unnoticed until the
        # token expired.
        ending = (
            rooms.session_room(family),
            rooms.member_room(claims.tenant_id, claims.user_id),
        )
        for room in ending:
            await self.enter_room(sid, room)
        socket = _Socket(claims.tenant_id, claims.user_id)
        self._sockets[sid] = socket
        try:
            # Read again (the membership, and the view of the leads) until no regroup of the
            # tenant began during the read.
            while True:
                regroups = self._regroups.get(claims.tenant_id, 0)
                sees_all = await self._sees_all(claims)
                if self._regroups.get(claims.tenant_id, 0) == regroups:
                    break
            await self.save_session(sid, {"user_id": claims.user_id, "tenant_id": claims.tenant_id})
            await self.enter_room(sid, rooms.tenant_room(claims.tenant_id))
        except BaseException:
            self._sockets.pop(sid, None)
            raise
        # No await from here on: the connection completes before any close or regroup can run.
        if not set(ending) <= set(self.rooms(sid)):
            self._sockets.pop(sid, None)
            raise _signed_out()
        self._set_view(sid, socket, sees_all=sees_all)
        # The socket lives no longer than the token that opened it: the client reconnects with
        # a fresh one, and a session ended meanwhile (sign-out, password change) is refused.
        self._expire_at(sid, claims.expires)

    async def _alive(self, claims: AccessClaims) -> UUID | None:
        """Refuse unless the token's user is a member whose session is alive; the session's id
        (its refresh-token family)."""
        member = MemberSession(claims.token_id)
        async with self._database().transaction(
            tenant_id=claims.tenant_id, user_id=claims.user_id, first=member
        ) as tx:
            if member.role is None:
                raise _signed_out()
            return await sessions.session_of(tx, claims.token_id)

    async def _sees_all(self, claims: AccessClaims) -> bool:
        """Refuse unless the token's user (still) is a member; whether they see every lead."""
        member = MemberSession(claims.token_id)
        async with self._database().transaction(
            tenant_id=claims.tenant_id, user_id=claims.user_id, first=member
        ) as tx:
            if member.role is None:
                raise _signed_out()
            settings = await tenants.settings(tx)
            return sees_all_leads(member.role, sales_see_all_leads=settings.sales_see_all_leads)

    def _set_view(self, sid: str, socket: _Socket, *, sees_all: bool) -> None:
        """Put the socket in the lead rooms of its view (synchronous: the local manager's
        bookkeeping), out of the others; tell it when a view it had changed."""
        manager = self.server.manager
        wanted = rooms.lead_rooms(socket.tenant_id, socket.user_id, sees_all=sees_all)
        for room in [r for r in manager.get_rooms(sid, self.namespace) if rooms.is_lead_room(r)]:
            if room not in wanted:
                manager.basic_leave_room(sid, self.namespace, room)
        for room in wanted:
            manager.basic_enter_room(sid, self.namespace, room)
        before, socket.sees_all = socket.sees_all, sees_all
        if before is not None and before != sees_all:
            # What the client listed may no longer (or not only) be what it sees: it reloads.
            self.later(0, self.emit("lead:visibility", {"seesAll": sees_all}, to=sid))

    def on_broadcast(self, body: dict[str, Any]) -> None:
        """A message from managers.py's `broadcast`, on every instance (the sender's too)."""
        if body.get("kind") == REGROUP_LEADS:
            tenant_id = UUID(str(body["tenantId"]))
            # Counted now, in the manager's loop: a handshake reading meanwhile reads again.
            self._regroups[tenant_id] = generation = self._regroups.get(tenant_id, 0) + 1
            self.later(0, self._regroup_leads(tenant_id, generation))

    async def _regroup_leads(self, tenant_id: UUID, generation: int) -> None:
        """Read again the roles of this instance's sockets of the tenant and its setting, and
        move each socket to the lead rooms of its view."""
        users = list({s.user_id for s in self._sockets.values() if s.tenant_id == tenant_id})
        if not users:
            return
        try:
            async with self._database().transaction(tenant_id=tenant_id) as tx:
                roles = await Memberships(tx).roles_of(users)
                settings = await tenants.settings(tx)
        except Exception:  # the database may be away: the sockets keep their view, logged
            log.exception("lead_regroup_failed", tenant_id=str(tenant_id))
            return
        if self._regroups.get(tenant_id) != generation:
            return  # a later regroup began: its read is the newer one
        for sid, socket in list(self._sockets.items()):
            if socket.tenant_id != tenant_id or socket.sees_all is None:
                continue  # another tenant's, or a handshake (which reads again: see above)
            role = roles.get(socket.user_id)
            if role is None:
                continue  # no longer a member: the membership's end closes the socket
            sees_all = sees_all_leads(role, sales_see_all_leads=settings.sales_see_all_leads)
            self._set_view(sid, socket, sees_all=sees_all)

    def _expire_at(self, sid: str, expires: int) -> None:
        def fire() -> None:
            # Popped here too: a client that left during its handshake never disconnects again.
            self._expiries.pop(sid, None)
            self.later(0, self.disconnect(sid))

        delay = max(0.0, expires - time.time())
        self._expiries[sid] = asyncio.get_running_loop().call_later(delay, fire)

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        self._sockets.pop(sid, None)
        handle = self._expiries.pop(sid, None)
        if handle is not None:
            handle.cancel()

    async def emit_agent_status(self, tenant_id: UUID, agent_id: UUID, *, online: bool) -> None:
        """Tell the tenant's members that one of its agents came online or went away."""
        await self.emit(
            "agent:status",
            {"id": str(agent_id), "online": online, "lastSeenAt": datetime.now(UTC).isoformat()},
            room=rooms.tenant_room(tenant_id),
        )
