"""The agent's way out: a socket the server already closed must not change the exit code."""

from __future__ import annotations

import asyncio
import io

import pytest

from leedz.reference_agent.runner import EXIT_REVOKED, AgentOptions, ReferenceAgent


def _revoked_agent() -> ReferenceAgent:
    agent = ReferenceAgent(AgentOptions(url="http://127.0.0.1:9", token="lza_x"), out=io.StringIO())
    agent._finish(EXIT_REVOKED, "revoked")
    return agent


async def test_a_cancelled_read_loop_at_disconnect_keeps_the_exit_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent = _revoked_agent()

    async def disconnect() -> None:
        # What python-engineio does when the server closed the socket first: it awaits its
        # own read loop, already cancelled.
        raise asyncio.CancelledError

    monkeypatch.setattr(agent._sio, "disconnect", disconnect)
    assert await agent.run() == EXIT_REVOKED


async def test_our_own_cancellation_still_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    agent = _revoked_agent()
    started = asyncio.Event()

    async def disconnect() -> None:
        started.set()
        await asyncio.sleep(10)

    monkeypatch.setattr(agent._sio, "disconnect", disconnect)
    task = asyncio.create_task(agent.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
