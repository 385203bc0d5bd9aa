"""Engine.IO's transports under hostile clients: raw HTTP and websocket frames against a live
server (issue 12). Every request is answered, promptly, and no socket is left hanging."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass

import aiohttp
import pytest

from tests.gateway.conftest import Live

PROMPTLY = 5.0  # seconds: the polling interval is 20 s, so a hang shows


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class RawHttp:
    """One HTTP/1.1 connection, written byte by byte (no client library in between that would
    send `Expect: 100-continue` or refuse an oversized body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, live: Live) -> RawHttp:
        host, port = live.base.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def send_in_background(self, data: bytes) -> asyncio.Task[None]:
        async def write() -> None:
            self.writer.write(data)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

        return asyncio.create_task(write())

    async def answer(self) -> Answer:
        async with asyncio.timeout(PROMPTLY):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").strip().split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines)
            }
            if "content-length" in headers:
                body = await self.reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding") == "chunked":
                body = b""
                while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                    body += await self.reader.readexactly(size)
                    await self.reader.readexactly(2)
                await self.reader.readexactly(2)
            else:
                body = await self.reader.read()
        return Answer(int(status_line.split(" ")[1]), headers, body)

    async def closed_by_the_server(self) -> bool:
        """True once the server closed the connection (EOF), within PROMPTLY seconds."""
        try:
            async with asyncio.timeout(PROMPTLY):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    def close(self) -> None:
        self.writer.close()


def _host(live: Live) -> str:
    return live.base.removeprefix("http://")


async def polling_session(live: Live) -> str:
    """A new Engine.IO polling session's id (no namespace joined)."""
    http = await RawHttp.open(live)
    try:
        http.send(
            f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {_host(live)}\r\n"
            "\r\n".encode()
        )
        answer = await http.answer()
    finally:
        http.close()
    assert answer.status == 200, answer
    found = re.search(rb'"sid":"([^"]+)"', answer.body)
    assert found, answer
    return found.group(1).decode()


async def poll(live: Live, sid: str) -> Answer:
    http = await RawHttp.open(live)
    try:
        http.send(
            f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: {_host(live)}\r\n\r\n".encode()
        )
        return await http.answer()
    finally:
        http.close()


def post_head(live: Live, sid: str, *headers: str) -> bytes:
    lines = [
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1",
        f"Host: {_host(live)}",
        "Content-Type: text/plain;charset=UTF-8",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 16384) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


def limit_of(live: Live) -> int:
    limit: int = live.app.state.settings.max_body_bytes
    return limit


class TestPollingPostBodies:
    @pytest.mark.parametrize("times", [2, 16])
    async def test_a_declared_body_over_the_limit_is_answered_413_at_once(
        self, live: Live, times: int
    ) -> None:
        sid = await polling_session(live)
        size = limit_of(live) * times
        http = await RawHttp.open(live)
        try:
            # No `Expect: 100-continue`: the body follows the headers unasked, as curl's -H
            # 'Expect:' sends it.
            http.send(post_head(live, sid, f"Content-Length: {size}"))
            sending = await http.send_in_background(b"4" + b"x" * (size - 1))
            answer = await http.answer()
            assert answer.status == 413, answer
            assert answer.headers["content-type"] == "application/problem+json"
            problem = json.loads(answer.body)
            assert problem["code"] == "payload_too_large"
            assert problem["limit"] == limit_of(live)
            # The unread body is not waited for: the connection ends.
            assert await http.closed_by_the_server()
            sending.cancel()
        finally:
            http.close()
        # The session ended with it, as Engine.IO ends it for a message over the limit.
        assert (await poll(live, sid)).status == 400

    async def test_a_chunked_body_over_the_limit_is_answered_413(self, live: Live) -> None:
        sid = await polling_session(live)
        http = await RawHttp.open(live)
        try:
            http.send(post_head(live, sid, "Transfer-Encoding: chunked"))
            sending = await http.send_in_background(chunked(b"4" + b"x" * limit_of(live)))
            answer = await http.answer()
            assert answer.status == 413, answer
            assert json.loads(answer.body)["code"] == "payload_too_large"
            sending.cancel()
        finally:
            http.close()

    async def test_a_chunked_body_within_the_limit_is_delivered(self, live: Live) -> None:
        sid = await polling_session(live)
        http = await RawHttp.open(live)
        try:
            # A Socket.IO handshake on `/`, which the gateway refuses: the refusal is the proof
            # that the message arrived (python-engineio reads `Content-Length` bytes, so a
            # chunked body used to be read and dropped).
            http.send(post_head(live, sid, "Transfer-Encoding: chunked") + chunked(b"40"))
            answer = await http.answer()
            assert (answer.status, answer.body) == (200, b"OK"), answer
        finally:
            http.close()
        refused = await poll(live, sid)
        assert refused.status == 200
        assert b"unknown_namespace" in refused.body, refused


class TestWebsocketFrames:
    async def test_a_message_over_the_limit_closes_the_websocket(self, live: Live) -> None:
        url = live.base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            opened = await ws.receive(timeout=PROMPTLY)
            assert opened.type == aiohttp.WSMsgType.TEXT
            assert opened.data.startswith("0{")
            await ws.send_str("4" + "x" * limit_of(live))
            closing = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
            async with asyncio.timeout(PROMPTLY):
                while (await ws.receive()).type not in closing:
                    pass
