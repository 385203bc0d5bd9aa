"""Client managers: in memory for one instance, Redis when REDIS_URL is set (scale-out).

Two changes to python-socketio's managers, shared by both:

- Closing a room disconnects its members: revoking an agent closes `agent:<id>`, which reaches
  the instance holding its socket through the same Redis channel as every emit.
- Each client's rooms are indexed. python-socketio finds a disconnecting client's rooms by
  scanning every room of the namespace, and every client has a room of its own (its sid): a
  disconnect cost O(connected clients), so a mass disconnect was quadratic (bench
  agents_connected). With the index it is O(the client's rooms).
"""

from __future__ import annotations

from typing import Any

import socketio


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


class LocalManager(IndexedRooms, socketio.AsyncManager):  # type: ignore[misc]
    async def close_room(self, room: str, namespace: str) -> None:
        await _disconnect_members(self, room, namespace)
        await super().close_room(room, namespace)


class RedisManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        # Runs on every instance: locally for the instance that closes, from Redis for the rest.
        await _disconnect_members(self, message["room"], message["namespace"])
        await super()._handle_close_room(message)


def manager_for(redis_url: str | None, channel: str) -> socketio.AsyncManager:
    if redis_url:
        return RedisManager(redis_url, channel=channel)
    return LocalManager()
