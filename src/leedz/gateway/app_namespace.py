"""`/app`: a signed-in member's socket. It only listens (job updates, agents' status); the
handshake takes a member's access token, and the socket lives no longer than that token, its
session (refresh-token family) or its membership: their ends close the rooms
`session:<family>` and `member:<tenant>:<user>` (relay.py), on every instance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from leedz.access.context import MemberSession
from leedz.auth import sessions
from leedz.gateway import rooms
from leedz.gateway.namespace import EventNamespace, HandshakeLimits, Refused, auth_token
from leedz.kit.db import Database
from leedz.kit.jwt import AccessClaims, AccessTokens, TokenError


def _signed_out() -> Exception:
    refused: Exception = Refused(
        "Not a member of this tenant, or signed out", {"code": "invalid_token"}
    )
    return refused


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

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        await self._handshakes.admit(environ)
        try:
            claims = self._access_tokens.verify(auth_token(auth))
        except TokenError as exc:
            code = "token_expired" if exc.expired else "invalid_token"
            raise Refused("The access token is not valid", {"code": code}) from exc
        family = await self._alive(claims, session=True)
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
        await self._alive(claims, session=False)
        await self.save_session(sid, {"user_id": claims.user_id, "tenant_id": claims.tenant_id})
        await self.enter_room(sid, rooms.tenant_room(claims.tenant_id))
        # No await from here on: the connection completes before any close can run.
        if not set(ending) <= set(self.rooms(sid)):
            raise _signed_out()
        # The socket lives no longer than the token that opened it: the client reconnects with
        # a fresh one, and a session ended meanwhile (sign-out, password change) is refused.
        self._expire_at(sid, claims.expires)

    async def _alive(self, claims: AccessClaims, *, session: bool) -> UUID | None:
        """Refuse unless the token's user is a member whose session is alive; with `session`,
        the session's id (its refresh-token family)."""
        member = MemberSession(claims.token_id)
        async with self._database().transaction(
            tenant_id=claims.tenant_id, user_id=claims.user_id, first=member
        ) as tx:
            if member.role is None:
                raise _signed_out()
            return await sessions.session_of(tx, claims.token_id) if session else None

    def _expire_at(self, sid: str, expires: int) -> None:
        def fire() -> None:
            # Popped here too: a client that left during its handshake never disconnects again.
            self._expiries.pop(sid, None)
            self.later(0, self.disconnect(sid))

        delay = max(0.0, expires - time.time())
        self._expiries[sid] = asyncio.get_running_loop().call_later(delay, fire)

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
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
