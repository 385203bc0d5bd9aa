"""Scale-out: two server processes sharing PostgreSQL and Redis behave as one."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import socketio

from tests.factories.accounts import signup
from tests.factories.agents import create_job, register_agent
from tests.support.live import running_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def instances(
    database_url: str, redis_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> Iterator[tuple[str, str]]:
    # Rate-limit counters live in Redis across test runs (and hours): this test is not about them.
    unlimited = "100000/hour"
    with (
        running_server(
            database_url, tmp_path / "a", REDIS_URL=redis_url, LEEDZ_RATE_LIMIT_SIGNUP=unlimited
        ) as first,
        running_server(
            database_url, tmp_path / "b", REDIS_URL=redis_url, LEEDZ_RATE_LIMIT_SIGNUP=unlimited
        ) as second,
    ):
        yield first, second


async def until(events: list[Any], predicate: Any = bool, within: float = 5) -> Any:
    async with asyncio.timeout(within):
        while True:
            for event in events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.02)


async def test_events_cross_instances(instances: tuple[str, str]) -> None:
    base_a, base_b = instances
    seen: dict[str, list[Any]] = defaultdict(list)
    agent_socket = socketio.AsyncClient(reconnection=False)
    user_socket = socketio.AsyncClient(reconnection=False)
    for event in ("job:available", "agent:revoked", "disconnect"):
        agent_socket.on(event, lambda data=None, e=event: seen[f"agent {e}"].append(data), "/agent")
    user_socket.on("job:updated", seen["user job:updated"].append, "/app")
    async with httpx.AsyncClient(base_url=base_a) as via_a:
        boss = await signup(via_a)
        agent = await register_agent(via_a, boss)
        try:
            # The agent is on B, the user on A.
            await agent_socket.connect(
                base_b, namespaces=["/agent"], auth={"token": agent.token}, transports=["websocket"]
            )
            await user_socket.connect(
                base_a, namespaces=["/app"], auth={"token": boss.access}, transports=["websocket"]
            )
            job = await create_job(via_a, boss)
            assert await until(seen["agent job:available"]) == {"types": ["SEARCH"]}

            claimed = await agent_socket.call("job:claim", {}, namespace="/agent", timeout=5)
            assert claimed["job"]["id"] == job["id"]
            answer = await agent_socket.call(
                "job:progress",
                {"jobId": job["id"], "leaseId": claimed["leaseId"], "progress": 42},
                namespace="/agent",
                timeout=5,
            )
            assert answer["ok"] is True
            update = await until(seen["user job:updated"], lambda e: e["progress"] == 42)
            assert update == {"id": job["id"], "status": "RUNNING", "progress": 42}

            # Revoked through A, disconnected on B.
            revoked = await via_a.delete(f"/v1/agents/{agent.id}", headers=boss.headers)
            assert revoked.status_code == 204
            await until(seen["agent disconnect"], lambda _: True)
            assert seen["agent agent:revoked"] == [{}]
        finally:
            for client in (agent_socket, user_socket):
                with contextlib.suppress(Exception):
                    await client.disconnect()
