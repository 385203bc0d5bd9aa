"""Engine.IO's server, held to its limits against hostile clients (issue 12).

Two changes to python-engineio's `AsyncServer`:

- **Ending a session never waits for a client.** python-engineio ends a session by queueing its
  CLOSE packet and waiting until a client has taken it. A polling client that sends no GET never
  does: the POST that made the server end its session — a body over `max_http_buffer_size`, an
  unknown packet type — was never answered, its body stayed unread, and shutdown waited on it
  forever. Here the CLOSE packet is offered for `CLOSE_WAIT_SECONDS` at most (a poll in flight
  takes it at once), and a websocket is closed right behind it even when its client ignores it.
- **A polling POST over the limit is answered 413** (`payload_too_large`, problem+json, with
  Engine.IO's CORS headers), before python-engineio sees it: a declared `Content-Length` up front,
  without reading the body; a chunked body as it arrives. The session ends too, as python-engineio
  ends it. A chunked body within the limit is read here and handed on with its length (python-
  engineio reads `Content-Length` bytes and so used to drop such a body unread).

A websocket message over the limit makes python-engineio close the websocket (uvicorn refuses
messages over its own `ws_max_size` before that).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from typing import Any

import engineio
import orjson
from starlette.types import Message, Receive, Scope, Send

from leedz.errors import PayloadTooLarge, problem_body

# How long a session's end waits for its CLOSE packet to be taken by a poll or a websocket.
CLOSE_WAIT_SECONDS = 1.0


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class EngineServer(engineio.AsyncServer):  # type: ignore[misc]  # engineio is untyped
    sockets: dict[str, Any]
    max_http_buffer_size: int

    async def handle_request(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await super().handle_request(scope, receive, send)
        try:
            body = await self._read_body(scope, receive)
        except _ClientGone:
            return None
        except _TooLarge:
            await self._refuse_too_large(scope, send)
            return None
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name not in (b"content-length", b"transfer-encoding")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        return await super().handle_request(
            {**scope, "headers": headers}, _replay(body, receive), send
        )

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_http_buffer_size
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise _TooLarge
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            body += message.get("body", b"")
            if len(body) > limit:
                raise _TooLarge
            if not message.get("more_body", False):
                return bytes(body)

    async def _refuse_too_large(self, scope: Scope, send: Send) -> None:
        limit = self.max_http_buffer_size
        error = PayloadTooLarge(f"The request body exceeds {limit} bytes", limit=limit)
        # Engine.IO's own answer machinery, for its CORS headers; the request's environ is built
        # as python-engineio builds it, without its body.
        environ = await self._async["translate_request"](scope, _replay(b"", None), send)
        await self._make_response(
            {
                "status": "413 PAYLOAD TOO LARGE",
                # The body is left unread: the connection ends with the answer.
                "headers": [("Content-Type", "application/problem+json"), ("Connection", "close")],
                "response": orjson.dumps(problem_body(error, None)),
            },
            environ,
        )
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        sid = query.get("sid", [None])[0]
        if sid is not None and sid in self.sockets:
            await self.disconnect(sid)

    async def disconnect(self, sid: str | None = None) -> None:
        """End the session `sid` (every session when None), waiting for no client."""
        if sid is None:
            ending = list(self.sockets.values())
            self.sockets = {}
            await asyncio.gather(*(self._end(socket) for socket in ending))
            return
        socket = self.sockets.get(sid)
        if socket is not None:
            await self._end(socket)
            self.sockets.pop(sid, None)

    async def _end(self, socket: Any) -> None:
        await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
        if socket.upgraded:
            # The websocket's writer sends the CLOSE packet, then closes the websocket itself:
            # a client that ignores the CLOSE is not left reading the server's silence.
            socket.queue.put_nowait(None)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                await socket.queue.join()


def _replay(body: bytes, receive: Receive | None) -> Receive:
    """A `receive` that hands out `body` as the whole request, then defers to `receive`."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay
