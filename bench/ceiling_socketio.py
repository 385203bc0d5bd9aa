"""The ceiling for `agents_connected`: a bare python-socketio AsyncServer under uvicorn.

The same Socket.IO and Engine.IO settings as the gateway (ping interval and timeout from the same
environment variables, the same buffer limit), an `/agent` namespace that accepts any handshake
carrying a string token — no rate limit, no database, no rooms, no session, no status emit — and
a `/healthz` answer for the start-up probe. Served with `python -m uvicorn
bench.ceiling_socketio:app` and the flags `leedz serve` uses.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import socketio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

sio = socketio.AsyncServer(
    async_mode="asgi",
    ping_interval=float(os.environ.get("LEEDZ_SOCKET_PING_INTERVAL", "20")),
    ping_timeout=float(os.environ.get("LEEDZ_SOCKET_PING_TIMEOUT", "20")),
    max_http_buffer_size=1_048_576,
    logger=False,
    engineio_logger=False,
)


async def connect(sid: str, environ: dict[str, Any], auth: object) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise socketio.exceptions.ConnectionRefusedError("The handshake needs `auth: {token}`")


sio.on("connect", connect, namespace="/agent")


async def healthz(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


app = socketio.ASGIApp(sio, other_asgi_app=healthz, socketio_path="socket.io")
