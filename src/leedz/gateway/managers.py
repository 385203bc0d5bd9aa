"""Client managers: in memory for one instance, Redis when REDIS_URL is set (scale-out).

Both close a room by disconnecting its members: revoking an agent closes `agent:<id>`, which
reaches the instance holding its socket through the same Redis channel as every emit.
"""

from __future__ import annotations

from typing import Any

import socketio


async def _disconnect_members(manager: Any, room: str, namespace: str) -> None:
    for sid, _ in list(manager.get_participants(namespace, room)):
        await manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class LocalManager(socketio.AsyncManager):  # type: ignore[misc]
    async def close_room(self, room: str, namespace: str) -> None:
        await _disconnect_members(self, room, namespace)
        await super().close_room(room, namespace)


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        # Runs on every instance: locally for the instance that closes, from Redis for the rest.
        await _disconnect_members(self, message["room"], message["namespace"])
        await super()._handle_close_room(message)


def manager_for(redis_url: str | None, channel: str) -> socketio.AsyncManager:
    if redis_url:
        return RedisManager(redis_url, channel=channel)
    return LocalManager()
