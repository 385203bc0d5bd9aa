"""A lean Socket.IO v5 client (Engine.IO v4 over one websocket) for load generation.

Only what the agent protocol needs: a namespace handshake with `auth`, events with acks, pings
answered, server events handed to a callback. The benchmarks measure the server, so the load
generator should cost as little CPU as the HTTP one (bench/http_load.py); python-socketio's
client spends several times more per call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

NAMESPACE = "/agent"


class Refused(ConnectionError):
    """The namespace handshake was refused: `data` is the server's `{message, data: {code…}}`."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(f"refused: {data}")
        self.data = data

    @property
    def code(self) -> str | None:
        details = self.data.get("data")
        return details.get("code") if isinstance(details, dict) else None


class RawSocket:
    def __init__(
        self, namespace: str = NAMESPACE, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.namespace = namespace
        self._prefix = f"{namespace},"
        # A shared session (many sockets in one process) is left open by close().
        self._shared = session
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None
        self._connected: asyncio.Future[Any] | None = None
        self.on_event: Callable[[str, Any], None] = lambda _event, _data: None

    async def connect(self, base: str, auth: dict[str, Any]) -> None:
        url = base.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self._acks = {}
        self._next_id = 0
        session = self._shared or aiohttp.ClientSession()
        self._session = None if self._shared else session
        # Websocket-level pings (uvicorn sends them) are answered by aiohttp itself.
        self._ws = await session.ws_connect(url, autoping=True, max_msg_size=0)
        opened = await self._ws.receive_str()
        if not opened.startswith("0"):
            raise ConnectionError(f"unexpected Engine.IO open packet: {opened[:80]}")
        self._connected = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())
        await self._ws.send_str(f"40{self._prefix}{orjson.dumps(auth).decode()}")
        try:
            await asyncio.wait_for(self._connected, timeout=10)
        except BaseException:
            await self.close()
            raise

    async def wait_closed(self) -> None:
        """Until the server (or the network) closes the connection."""
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def call(self, event: str, data: Any) -> Any:
        """Emit `event` with `data` and wait for its ack."""
        if self._ws is None:
            raise ConnectionError("not connected")
        ack_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        await self._ws.send_str(f"42{self._prefix}{ack_id}{orjson.dumps([event, data]).decode()}")
        return await asyncio.wait_for(future, timeout=30)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _read(self) -> None:
        assert self._ws is not None
        # The connection dying ends the loop: pending acks fail below, `wait_closed` returns.
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await self._read_messages(self._ws)
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(ConnectionError("closed during the handshake"))
        for future in self._acks.values():
            if not future.done():
                future.set_exception(ConnectionError("socket closed"))

    async def _read_messages(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            if text == "2":  # Engine.IO ping
                await ws.send_str("3")
            elif text.startswith("4"):
                self._packet(text[1:])

    def _packet(self, packet: str) -> None:
        kind, body = packet[0], packet[1:]
        if body.startswith(self._prefix):
            body = body[len(self._prefix) :]
        if kind == "0" and self._connected is not None and not self._connected.done():
            self._connected.set_result(orjson.loads(body) if body else None)
        elif kind == "4" and self._connected is not None and not self._connected.done():
            self._connected.set_exception(Refused(orjson.loads(body) if body else {}))
        elif kind == "3":
            digits = len(body) - len(body.lstrip("0123456789"))
            future = self._acks.pop(int(body[:digits]), None)
            if future is not None and not future.done():
                future.set_result(orjson.loads(body[digits:])[0])
        elif kind == "2":
            event, *args = orjson.loads(body)
            self.on_event(event, args[0] if args else None)
