"""The indexed client manager keeps python-socketio's room bookkeeping exactly."""

from __future__ import annotations

from typing import Any

import socketio

from leedz.gateway.managers import LocalManager


def managers() -> tuple[Any, Any]:
    indexed, plain = LocalManager(), socketio.AsyncManager()
    for manager in (indexed, plain):
        socketio.AsyncServer(client_manager=manager, async_mode="asgi")
    return indexed, plain


async def test_rooms_match_python_socketio_through_a_lifecycle() -> None:
    indexed, plain = managers()
    for manager in (indexed, plain):
        sids = []
        for n in range(6):
            sid = await manager.connect(f"eio{n}", "/agent")
            sids.append(sid)
            await manager.enter_room(sid, "/agent", f"tenant:{n % 2}")
            await manager.enter_room(sid, "/agent", f"agent:{n}")
        await manager.leave_room(sids[0], "/agent", "tenant:0")
        await manager.disconnect(sids[1], "/agent")
        manager.basic_close_room("tenant:0", "/agent")
        await manager.disconnect(sids[5], "/agent")

    # The sids differ between the two servers: compare the rooms' shapes, not their names.
    def shape(manager: Any) -> list[tuple[Any, int]]:
        return sorted(
            ((room, len(members)) for room, members in manager.rooms["/agent"].items()),
            key=repr,
        )

    assert [r for r, _ in shape(indexed) if isinstance(r, str) and ":" in r] == [
        r for r, _ in shape(plain) if isinstance(r, str) and ":" in r
    ]
    assert len(indexed.rooms["/agent"][None]) == len(plain.rooms["/agent"][None]) == 4
    for sid in indexed.rooms["/agent"][None]:
        assert sorted(map(str, indexed.get_rooms(sid, "/agent"))) == sorted(
            map(str, socketio.AsyncManager.get_rooms(indexed, sid, "/agent"))
        )


async def test_disconnect_leaves_no_trace() -> None:
    indexed, _ = managers()
    sid = await indexed.connect("eio-x", "/agent")
    await indexed.enter_room(sid, "/agent", "agent:x")
    await indexed.disconnect(sid, "/agent")
    assert "agent:x" not in indexed.rooms.get("/agent", {})
    assert indexed._rooms_of == {}
