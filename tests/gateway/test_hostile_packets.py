"""Socket.IO packets a client library would never send, as raw websocket frames (issue 12).

Each is answered with a refusal — an ack `{ok: false, error: {code}}` when the event carries an
ack id — or ends the connection; never a stall, a traceback, or a socket that stops answering.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from leedz.gateway import packets
from tests.factories.accounts import Account, signup
from tests.factories.agents import AgentHandle, register_agent
from tests.gateway.conftest import Live

PROMPTLY = 5.0


class RawSocket:
    """An agent's Engine.IO websocket, spoken frame by frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def frame(self) -> str | None:
        """The next text frame (Engine.IO pings answered on the way), None once closed."""
        async with asyncio.timeout(PROMPTLY):
            while True:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    return None
                if message.data == "2":
                    await self.ws.send_str("3")
                    continue
                text: str = message.data
                return text

    async def ack(self, ack_id: int) -> Any:
        """The answer to the event sent with `ack_id` on /agent."""
        prefix = f"43/agent,{ack_id}"
        while (frame := await self.frame()) is not None:
            if frame.startswith(prefix):
                return json.loads(frame[len(prefix) :])[0]
        raise AssertionError("the socket closed before the ack came")

    async def closes(self) -> bool:
        try:
            while await self.frame() is not None:
                pass
        except TimeoutError:
            return False
        return True

    async def heartbeat_answers(self, ack_id: int) -> None:
        await self.ws.send_str(f'42/agent,{ack_id}["heartbeat",{{}}]')
        assert (await self.ack(ack_id))["ok"] is True


@pytest.fixture
async def agent(live: Live, owner: asyncpg.Connection) -> AgentHandle:
    boss: Account = await signup(live.http)
    return await register_agent(live.http, boss)


@pytest.fixture
async def raw(live: Live, agent: AgentHandle) -> AsyncIterator[RawSocket]:
    url = live.base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        socket = RawSocket(ws)
        opened = await socket.frame()
        assert (opened or "").startswith("0{"), opened
        await ws.send_str("40/agent," + json.dumps({"token": agent.token, "inFlight": []}))
        connected = await socket.frame()
        assert (connected or "").startswith("40/agent,{"), connected
        yield socket


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.WARNING)
    yield
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]


def assert_refused(answer: Any, code: str = "validation_error") -> None:
    assert answer["ok"] is False, answer
    assert answer["error"]["code"] == code, answer
    assert answer["error"]["message"], answer


@pytest.mark.usefixtures("no_tracebacks")
class TestRefusedWithAnAck:
    async def test_json_nested_beyond_the_recursion_limit(self, raw: RawSocket) -> None:
        depth = 20_000  # 40 KB, within the message limit; json.loads gives up near 1,000
        await raw.ws.send_str('42/agent,1["heartbeat",' + "[" * depth + "]" * depth + "]")
        assert_refused(await raw.ack(1))
        await raw.heartbeat_answers(2)

    async def test_json_nested_deeper_than_any_payload(self, raw: RawSocket) -> None:
        depth = packets.MAX_DEPTH  # with the event's own list, one level too many
        nested = '{"a":' * depth + "1" + "}" * depth
        await raw.ws.send_str(f'42/agent,1["job:complete",{nested}]')
        answer = await raw.ack(1)
        assert_refused(answer)
        assert str(packets.MAX_DEPTH) in answer["error"]["message"]
        await raw.heartbeat_answers(2)

    async def test_payload_depth_within_the_bound_reaches_the_handler(self, raw: RawSocket) -> None:
        depth = packets.MAX_DEPTH - 2  # the event's list and the payload's own object
        nested = '{"a":' * depth + "1" + "}" * depth
        await raw.ws.send_str(f'42/agent,1["heartbeat",{{"inFlight":{nested}}}]')
        answer = await raw.ack(1)
        assert_refused(answer)
        # The handler's schema refused it (a location), not the packet decoder.
        assert answer["error"]["errors"], answer

    @pytest.mark.parametrize(
        "data", ["", "{}", '{"a":1}', "[]", '"heartbeat"', "true", "null", "[7]", "[1", '["x"]]']
    )
    async def test_an_event_that_is_not_a_list_with_a_name(self, raw: RawSocket, data: str) -> None:
        await raw.ws.send_str(f"42/agent,1{data}")
        answer = await raw.ack(1)
        assert answer["ok"] is False, answer
        assert answer["error"]["code"] in ("validation_error", "unknown_event"), answer
        await raw.heartbeat_answers(2)

    async def test_a_bad_binary_placeholder(self, raw: RawSocket) -> None:
        await raw.ws.send_str('451-/agent,1["heartbeat",{"_placeholder":true,"num":99}]')
        await raw.ws.send_bytes(b"\x00")
        assert_refused(await raw.ack(1))
        await raw.heartbeat_answers(2)

    async def test_a_binary_event_is_refused_whatever_it_carries(self, raw: RawSocket) -> None:
        await raw.ws.send_str('452-/agent,1["heartbeat",{"_placeholder":true,"num":0}]')
        await raw.ws.send_bytes(b"one")
        await raw.ws.send_bytes(b"two")
        answer = await raw.ack(1)
        assert_refused(answer)
        assert "binary" in answer["error"]["message"]
        await raw.heartbeat_answers(2)


@pytest.mark.usefixtures("no_tracebacks")
class TestTheConnectionEnds:
    """Packets that break Socket.IO's framing: what follows them cannot be read reliably."""

    @pytest.mark.parametrize(
        "frame",
        [
            '4999999-/agent,1["heartbeat",{}]',  # more attachments than any event has
            '450-/agent,1["heartbeat",{}]',  # a binary packet without attachments
            "49/agent,1[]",  # no such packet type
            "44/agent,{}",  # CONNECT_ERROR is the server's
            '40/agent,{"token":' + "[" * 5000 + "]" * 5000 + "}",  # a handshake's auth too deep
        ],
    )
    async def test_a_framing_violation(self, live: Live, raw: RawSocket, frame: str) -> None:
        await raw.ws.send_str(frame)
        await raw.ws.send_str('42/agent,2["heartbeat",{}]')
        assert await raw.closes()

    async def test_a_text_frame_where_an_attachment_was_due(self, raw: RawSocket) -> None:
        await raw.ws.send_str('451-/agent,1["heartbeat",{"_placeholder":true,"num":0}]')
        await raw.ws.send_str('42/agent,2["heartbeat",{}]')
        assert await raw.closes()

    async def test_the_server_goes_on_serving(self, live: Live, agent: AgentHandle) -> None:
        url = live.base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.ws_connect(url) as ws:
                    socket = RawSocket(ws)
                    await socket.frame()
                    await ws.send_str('40/agent,{"token":"' + agent.token + '"}')
                    assert (await socket.frame() or "").startswith("40/agent,{")
                    await socket.heartbeat_answers(1)
                    await ws.send_str('4999999-/agent,2["heartbeat",{}]')
                    assert await socket.closes()
