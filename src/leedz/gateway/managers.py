"""Client managers: in memory for one instance, Redis when REDIS_URL is set (scale-out).

Two changes to python-socketio's managers, shared by both:

- Closing a room disconnects its members: revoking an agent closes `agent:<id>`, which reaches
  the instance holding its socket through the same Redis channel as every emit.
- Each client's rooms are indexed. python-socketio finds a disconnecting client's rooms by
  scanning every room of the namespace, and every client has a room of its own (its sid): a
  disconnect cost O(connected clients), so a mass disconnect was quadratic (bench
  agents_connected). With the index it is O(the client's rooms).

And two additions, which reach every instance the way an emit does (the same Redis channel, in
the order they were sent):

- `emit_excluding`: an emit to rooms, minus the members of other rooms (a lead hidden from the
  sockets that saw it, except those that still do). Each instance subtracts its own sockets.
- `broadcast`: a message to the gateway of every instance, this one included
  (`broadcast_handler`); the gateway regroups its own sockets when a role or a tenant setting
  changed. The handler runs in the manager's listening loop: it must return quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio
import structlog

log = structlog.get_logger("leedz.gateway")

# The `method` of the messages this module adds to python-socketio's channel; python-socketio
# ignores methods it does not know, these are taken out before it sees them.
EMIT_EXCLUDING = "leedz:emit_excluding"
BROADCAST = "leedz:broadcast"
_OURS = (EMIT_EXCLUDING, BROADCAST)
_MARK = b'"leedz:'

BroadcastHandler = Callable[[dict[str, Any]], None]


async def _disconnect_members(manager: Any, room: str, namespace: str) -> None:
    for sid, _ in list(manager.get_participants(namespace, room)):
        await manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class IndexedRooms:
    """Mixin over python-socketio's BaseManager bookkeeping (`rooms`, `pending_*`)."""

    rooms: dict[str | None, dict[Any, Any]]
    callbacks: dict[str, Any]
    pending_connect: dict[str, set[str]]
    pending_disconnect: dict[str, set[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **_: Any) -> None:
        # python-socketio's own, with the scan of every room replaced by the index.
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)
                if not waiting:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]

    broadcast_handler: BroadcastHandler | None = None

    async def _local_emit_excluding(
        self, event: str, data: Any, namespace: str, room: list[str], excluding: list[str]
    ) -> None:
        skip = [sid for sid, _ in self.get_participants(namespace, excluding)]  # type: ignore[attr-defined]
        await socketio.AsyncManager.emit(self, event, data, namespace, room=room, skip_sid=skip)

    def _local_broadcast(self, body: dict[str, Any]) -> None:
        if self.broadcast_handler is None:
            return
        try:
            self.broadcast_handler(body)
        except Exception:  # one bad message must not stop the listening loop
            log.exception("gateway_broadcast_failed")

    async def _handle_ours(self, message: dict[str, Any]) -> None:
        if message["method"] == EMIT_EXCLUDING:
            await self._local_emit_excluding(
                message["event"],
                message["data"],
                message["namespace"],
                list(message["room"]),
                list(message["excluding"]),
            )
        else:
            self._local_broadcast(message["body"])


class LocalManager(IndexedRooms, socketio.AsyncManager):  # type: ignore[misc]
    async def close_room(self, room: str, namespace: str) -> None:
        await _disconnect_members(self, room, namespace)
        await super().close_room(room, namespace)

    async def emit_excluding(
        self, event: str, data: Any, *, namespace: str, room: list[str], excluding: list[str]
    ) -> None:
        await self._local_emit_excluding(event, data, namespace, room, excluding)

    async def broadcast(self, body: dict[str, Any]) -> None:
        self._local_broadcast(body)


class RedisManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        # Runs on every instance: locally for the instance that closes, from Redis for the rest.
        await _disconnect_members(self, message["room"], message["namespace"])
        await super()._handle_close_room(message)

    async def emit_excluding(
        self, event: str, data: Any, *, namespace: str, room: list[str], excluding: list[str]
    ) -> None:
        message = {
            "method": EMIT_EXCLUDING, "event": event, "data": data, "namespace": namespace,
            "room": room, "excluding": excluding, "host_id": self.host_id,
        }  # fmt: skip
        await self._handle_ours(message)
        await self._publish(message)

    async def broadcast(self, body: dict[str, Any]) -> None:
        self._local_broadcast(body)
        await self._publish({"method": BROADCAST, "body": body, "host_id": self.host_id})

    async def _listen(self) -> Any:
        # python-socketio's loop reads the channel through this generator: ours are handled here
        # (the other instances'; this one handled its own when sending), the rest passed on.
        async for message in super()._listen():
            raw = message.encode() if isinstance(message, str) else message
            if isinstance(raw, bytes) and _MARK in raw:
                try:
                    data = self.json.loads(raw)
                except ValueError:
                    data = None
                if isinstance(data, dict) and data.get("method") in _OURS:
                    if data.get("host_id") != self.host_id:
                        try:
                            await self._handle_ours(data)
                        except Exception:
                            log.exception("gateway_message_failed", method=data.get("method"))
                    continue
            yield message


def manager_for(redis_url: str | None, channel: str) -> socketio.AsyncManager:
    if redis_url:
        return RedisManager(redis_url, channel=channel)
    return LocalManager()
